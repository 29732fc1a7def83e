/**
 * The test bed's control plane (test/support/cluster.ts): `kubestrap init` on cp1 in its network
 * namespace, the node Ready through the admin kubeconfig from the host, the join command parsed,
 * and nothing left after stop() (the bed's own leftovers check: namespaces, links, mounts,
 * processes, cgroups, dir).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSkipReason, startCluster, waitNodeReady } from '../support/cluster.js';
import { testbedLeftovers } from '../support/testbed.js';

test('a kubestrap control plane on test bed node cp1', { skip: clusterSkipReason(), timeout: 600_000 }, async (t) => {
  const t0 = performance.now();
  const cluster = await startCluster();
  let stopped = false;
  t.after(async () => {
    if (!stopped) await cluster.stop();
  });
  const { cp } = cluster;
  t.diagnostic(`init on ${cp.node.name} (${cp.node.ip}) in ${Math.round(performance.now() - t0)} ms`);
  assert.equal(cp.join.endpoint, `${cp.node.ip}:6443`);
  assert.match(cp.join.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  assert.match(cp.join.caCertHashes[0]!, /^sha256:[0-9a-f]{64}$/);
  const node = await waitNodeReady(cp, 'cp1', 120_000, 500);
  assert.deepEqual(
    node.status?.addresses?.find((a) => a.type === 'InternalIP'),
    { type: 'InternalIP', address: cp.node.ip },
  );
  t.diagnostic((await cp.kubectl(['get', 'nodes', '-o', 'wide'])).trim());
  const notes = await cluster.stop();
  stopped = true;
  t.diagnostic(`stop: ${notes.join('; ') || 'reset left nothing to force'}`);
  assert.deepEqual(testbedLeftovers(cluster.bed), []);
});
