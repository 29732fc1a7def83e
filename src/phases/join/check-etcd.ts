/**
 * `join phase check-etcd` (hidden, kubeadm's): before this node starts anything, the stacked etcd
 * cluster it will join must be healthy — adding a member to a cluster that has lost a voter can
 * cost it its quorum. Needs admin.conf and this node's etcd client certificate, so it runs after
 * control-plane-prepare.
 */
import { describeMembers, clusterHealth } from '../../etcd/members.js';
import { HostError } from '../../errors.js';
import type { Phase } from '../runner.js';
import type { ControlPlaneJoinData } from './data.js';

export const checkEtcdPhase: Phase<ControlPlaneJoinData> = {
  name: 'check-etcd',
  help: 'Check that the etcd cluster is healthy',
  hidden: true,
  when: (cp) => cp.config.cluster.etcd.local !== undefined,
  skipped: (cp) => cp.out.line('check-etcd', 'Skipping etcd check in external mode'),
  run: async (cp) => {
    if (cp.dryRun) return cp.out.line('dryrun', 'Would check that the etcd cluster is healthy');
    cp.out.line('check-etcd', 'Checking that the etcd cluster is healthy');
    const { client, connect } = await cp.clusterEtcd();
    try {
      const health = await clusterHealth(client, connect);
      if (health.problems.length > 0) {
        throw new HostError(`the etcd cluster is not healthy: ${health.problems.join('; ')}; members: ${describeMembers(health.members)}`, {
          hint: 'bring the unhealthy members back (or remove them with `etcdctl member remove`) before adding another',
        });
      }
    } finally {
      client.close();
    }
  },
};
