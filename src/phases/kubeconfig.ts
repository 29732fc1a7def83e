// Placeholder: replaced by the real phase.
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';

export const kubeconfigPhase: Phase<InitContext> = {
  name: 'kubeconfig',
  help: 'Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file',
};
