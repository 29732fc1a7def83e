/**
 * Issue 13, "survive a lost node", with HAProxy in its own bed node as the API endpoint: three
 * control planes and w1; cp1 killed and cut off; the API through the balancer answers again within
 * seconds, a Deployment scales, the controller-manager and scheduler Leases move; cp1 back: its etcd
 * member catches up, its mirror pods run. The scenario is test/support/lose-node.ts; the figures it
 * prints are the ones docs/ha.md quotes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSkipReason } from '../support/cluster.js';
import type { HaCluster } from '../support/ha-cluster.js';
import { loseNodeScenario } from '../support/lose-node.js';

test('haproxy: the API survives losing cp1, and cp1 catches up when it returns', { skip: clusterSkipReason(), timeout: 900_000 }, async (t) => {
  let cluster: HaCluster | undefined;
  t.after(async () => {
    if (cluster) t.diagnostic(`stop: ${(await cluster.stop()).join('; ') || 'reset left nothing to force'}`);
  });
  const report = await loseNodeScenario(
    'haproxy',
    (l) => t.diagnostic(l),
    (c) => (cluster = c),
  );
  t.diagnostic(
    `API unavailable for ${report.unavailableMs} ms (${report.failedPolls} of ${report.totalPolls} /readyz polls failed); kubectl answered ${report.kubectlAfterCutMs} ms after the cut, web scaled after ${report.scaledAfterCutMs} ms, Leases moved after ${report.leasesMovedAfterCutMs} ms`,
  );
  t.diagnostic(
    `leaders ${JSON.stringify(report.leaders)}; cp1 back: etcd caught up in ${report.etcdCaughtUpMs} ms (${JSON.stringify(report.raft)}), mirror pods in ${report.podsBackMs} ms`,
  );
  assert.ok(report.kubectlAfterCutMs < 30_000, `kubectl through the balancer took ${report.kubectlAfterCutMs} ms after the cut`);
});
