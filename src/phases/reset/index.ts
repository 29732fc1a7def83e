/**
 * `kubestrap reset` as phases, like kubeadm's: preflight (confirmation) → remove-etcd-member (a
 * stacked etcd's member leaves first; its quorum check runs in prepare, before the confirmation) →
 * cleanup-node (stop the agent and every pod it ran, remove what init wrote).
 */
import type { Phase } from '../runner.js';
import { cleanupNodePhase } from './cleanup-node.js';
import type { ResetData } from './data.js';
import { resetPreflightPhase } from './preflight.js';
import { removeEtcdMemberPhase } from './remove-etcd-member.js';

export type { ResetData } from './data.js';

export const RESET_PHASES: readonly Phase<ResetData>[] = [resetPreflightPhase, removeEtcdMemberPhase, cleanupNodePhase];
