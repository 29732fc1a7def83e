/** The agent's API side: one class to start when the agent has a kubeconfig. */
export { MirrorSync, type MirrorSyncHealth, type MirrorSyncOptions } from './sync.js';
export { REJECT_REASON } from './foreign.js';
