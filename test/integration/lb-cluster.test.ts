/**
 * The node-local API balancer on a test bed cluster: cp1 advertises its bed address, so the API
 * server keeps itself in the `kubernetes` EndpointSlice; the balancer (here in the test process,
 * which reaches the bed over its bridge) starts with only a dead seed, finds cp1 through the slice
 * watched with cp1's own kubelet.conf (init's Role for system:nodes), and kubectl works through it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { Host } from '../../src/host/host.js';
import { watchApiServerSlices } from '../../src/kube/api-endpoints.js';
import { kubeClient } from '../../src/kube/client.js';
import { ApiBalancer, readyzCheck, upstreamsOfSlices, type ApiEndpointSlice } from '../../src/lb/balancer.js';
import { clusterSkipReason, startCluster } from '../support/cluster.js';
import { components } from '../support/components.js';
import { waitFor } from '../support/proc.js';

const run = promisify(execFile);

test('the balancer finds the API server in the kubernetes EndpointSlice', { skip: clusterSkipReason(), timeout: 600_000 }, async (t) => {
  const cluster = await startCluster();
  const lines: string[] = [];
  const state: { lb?: ApiBalancer } = {};
  let stopWatch = (): void => undefined;
  t.after(async () => {
    stopWatch();
    await state.lb?.stop();
    t.diagnostic(`stop: ${(await cluster.stop()).join('; ') || 'reset left nothing to force'}`);
  });
  const { cp } = cluster;
  const node = await kubeClient('/etc/kubernetes/kubelet.conf', new Host(cp.rootfs));
  const ca = Buffer.from(node.kc.getCurrentCluster()!.caData!, 'base64');
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  const lb = new ApiBalancer({
    listen: { host: '127.0.0.1', port: 0 },
    seeds: [{ host: '127.0.0.1', port: deadPort }],
    check: readyzCheck(ca),
    healthIntervalMs: 500,
    log: (l) => lines.push(l),
  });
  state.lb = lb;
  await lb.start();
  const t0 = performance.now();
  const watch = watchApiServerSlices<ApiEndpointSlice & { metadata?: { name?: string } }>(
    node,
    (slices) => lb.setDiscovered(upstreamsOfSlices(slices)),
    (l) => lines.push(l),
  );
  stopWatch = () => watch.stop();
  const upstream = `${cp.node.ip}:6443`;
  await waitFor('cp1 found and healthy', async () => (lb.status().find((s) => s.address === upstream)?.healthy ? true : undefined), 60_000, 100).catch(
    (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(lb.status())} ${lines.join(' | ')}`);
    },
  );
  t.diagnostic(`found ${upstream} in the EndpointSlice and checked it in ${Math.round(performance.now() - t0)} ms: ${lines.join(' | ')}`);
  const conf = parse(await new Host(cp.rootfs).readText('/etc/kubernetes/admin.conf')) as { clusters: { cluster: Record<string, string> }[] };
  conf.clusters[0]!.cluster.server = `https://127.0.0.1:${lb.port()}`;
  conf.clusters[0]!.cluster['tls-server-name'] = 'kubernetes';
  const file = path.join(cp.rootfs, 'lb.conf');
  await writeFile(file, stringify(conf), { mode: 0o600 });
  const { stdout } = await run(components().binaries.kubectl.path, ['--kubeconfig', file, 'get', 'nodes', '-o', 'name']);
  assert.equal(stdout.trim(), 'node/cp1');
  assert.deepEqual(
    lines.filter((l) => /Forbidden/.test(l)),
    [],
  );
});
