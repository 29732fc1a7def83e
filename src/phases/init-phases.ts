/** The phases of `kubestrap init`, in kubeadm's order. */
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';
import { preflightPhase } from './preflight.js';
import { certsPhase } from './certs.js';
import { kubeconfigPhase } from './kubeconfig.js';
import { etcdPhase } from './etcd.js';
import { controlPlanePhase } from './control-plane.js';

export const INIT_PHASES: readonly Phase<InitContext>[] = [
  preflightPhase,
  certsPhase,
  kubeconfigPhase,
  etcdPhase,
  controlPlanePhase,
];
