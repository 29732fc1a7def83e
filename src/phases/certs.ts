// Placeholder: replaced by the real phase.
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';

export const certsPhase: Phase<InitContext> = {
  name: 'certs',
  help: 'Certificate generation',
};
