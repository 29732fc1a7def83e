// Placeholder: replaced by the real phase.
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';

export const controlPlanePhase: Phase<InitContext> = {
  name: 'control-plane',
  help: 'Generate all static Pod manifest files necessary to establish the control plane',
};
