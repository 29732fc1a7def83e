/**
 * Hidden phase: the other post-API phases ensure the kubeadm:cluster-admins ClusterRoleBinding on
 * demand through `adminClient()` (src/kube/cluster-admins.ts); runnable alone for repairs.
 */
import type { AdminClientData } from '../data.js';
import type { Phase } from '../runner.js';

export const clusterAdminsPhase: Phase<AdminClientData> = {
  name: 'cluster-admins',
  help: 'Create the kubeadm:cluster-admins ClusterRoleBinding that authorizes admin.conf',
  hidden: true,
  run: async (ctx) => {
    if (ctx.dryRun) {
      ctx.out.line('dryrun', 'Would create ClusterRoleBinding "kubeadm:cluster-admins"');
      return;
    }
    await ctx.adminClient();
  },
};
