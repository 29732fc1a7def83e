// Placeholder: replaced by the real phase.
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';

export const etcdPhase: Phase<InitContext> = {
  name: 'etcd',
  help: 'Generate static Pod manifest file for local etcd',
};
