/** The phases of `kubestrap join` for a worker, in kubeadm's order (control-plane phases come with control-plane join). */
import type { Phase } from '../runner.js';
import type { JoinData } from './data.js';
import { kubeletStartPhase } from './kubelet-start.js';
import { joinPreflightPhase } from './preflight.js';
import { kubeletWaitBootstrapPhase } from './wait-bootstrap.js';

export const JOIN_PHASES: readonly Phase<JoinData>[] = [joinPreflightPhase, kubeletStartPhase, kubeletWaitBootstrapPhase];
