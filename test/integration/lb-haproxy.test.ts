/**
 * The external API load balancer of the HA tests: Debian's HAProxy in its own bed node ("lb", a
 * load-balancer VM), cp1 initialized with `--control-plane-endpoint <lb>:6443`, so admin.conf and
 * every kubeconfig init writes go through HAProxy. Its pool also has a server that does not exist
 * (a bed address nobody has): the /readyz health check marks it DOWN within inter × fall and
 * kubectl keeps working through the balancer, while cp1 is UP.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { readFile } from 'node:fs/promises';
import { clusterSkipReason, startCluster } from '../support/cluster.js';
import { startHaproxy, type ApiLoadBalancer } from '../support/haproxy.js';
import { waitFor } from '../support/proc.js';

/** A bed address no node has (nodes are .10 upwards, a handful per test). */
const NOBODY = '198.18.0.250';

/** The last UP/DOWN HAProxy logged for a server (undefined: never changed from its start state, UP). */
function lastState(log: string, server: string): string | undefined {
  return [...log.matchAll(new RegExp(`apiservers/${server} is (UP|DOWN)`, 'g'))].pop()?.[1];
}

test('HAProxy in its own bed node balances the API of a control plane initialized behind it', { skip: clusterSkipReason(), timeout: 600_000 }, async (t) => {
  const state: { lb?: ApiLoadBalancer } = {};
  const cluster = await startCluster({
    workers: ['lb'],
    beforeInit: async (bed) => {
      state.lb = await startHaproxy(bed.node('lb'), {
        servers: [
          { name: 'cp1', host: bed.node('cp1').ip, port: 6443 },
          { name: 'gone', host: NOBODY, port: 6443 },
        ],
      });
    },
    extraArgs: ['--control-plane-endpoint', '198.18.0.11:6443'],
  });
  t.after(async () => {
    t.diagnostic(`stop: ${(await cluster.stop()).join('; ') || 'reset left nothing to force'}`);
  });
  const lb = state.lb!;
  assert.equal(lb.endpoint, '198.18.0.11:6443', 'the lb node is the bed node after cp1');
  const admin = parse(await readFile(cluster.cp.adminConf, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  assert.equal(admin.clusters[0]!.cluster.server, `https://${lb.endpoint}`);
  await waitFor(
    'HAProxy marks the missing server DOWN and cp1 UP',
    async () => {
      const log = await lb.log();
      return lastState(log, 'gone') === 'DOWN' && lastState(log, 'cp1') !== 'DOWN' ? log : undefined;
    },
    30_000,
    200,
  );
  // every request a fresh connection: round robin would hand some to the missing server if the check had not removed it
  for (let i = 0; i < 6; i++) assert.match(await cluster.cp.kubectl(['get', 'nodes', '-o', 'name']), /node\/cp1/);
  const changes = (await lb.log()).split('\n').filter((l) => /^Server apiservers\/\S+ is (UP|DOWN)/.test(l));
  t.diagnostic(`HAProxy: ${changes.map((l) => l.replace(/\..*/, '')).join(' | ')}`);
});
