/** The phases of `kubestrap init`, in kubeadm's order. */
import type { Phase } from '../runner.js';
import type { InitData } from './data.js';
import { preflightPhase } from './preflight.js';
import { certsPhase } from './certs.js';
import { kubeconfigPhase } from './kubeconfig.js';
import { etcdPhase } from './etcd.js';
import { controlPlanePhase } from './control-plane.js';
import { agentPhase } from './agent.js';
import { waitControlPlanePhase } from './wait-control-plane.js';
import { clusterAdminsPhase } from './cluster-admins.js';
import { uploadConfigPhase } from './upload-config.js';
import { uploadCertsPhase } from './upload-certs.js';
import { markControlPlanePhase } from './mark-control-plane.js';
import { bootstrapTokenPhase } from './bootstrap-token.js';
import { addonPhase } from './addon.js';
import { showJoinCommandPhase } from './show-join-command.js';

export const INIT_PHASES: readonly Phase<InitData>[] = [
  preflightPhase,
  certsPhase,
  kubeconfigPhase,
  etcdPhase,
  controlPlanePhase,
  agentPhase,
  waitControlPlanePhase,
  clusterAdminsPhase,
  uploadConfigPhase,
  uploadCertsPhase,
  markControlPlanePhase,
  bootstrapTokenPhase,
  addonPhase,
  showJoinCommandPhase,
];
