/**
 * The node-local API balancer in front of a real API server, /readyz as the health check, kubectl
 * through https://127.0.0.1:<lb> with `tls-server-name: kubernetes` (the API server certificate does
 * not name 127.0.0.1), a dead seed never chosen, and the stopped API server turning unhealthy. The
 * EndpointSlice watch runs with the node's own kubelet.conf and the Role init grants `system:nodes`:
 * it must not be Forbidden. (This API server advertises 127.0.0.1, which an EndpointSlice may not
 * hold, so kubestrap runs it with --endpoint-reconciler-type=none and the slice stays empty here;
 * the test bed's nodes have real addresses.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { apiEndpointsReaderRole, watchApiServerSlices, type SliceWatch } from '../../src/kube/api-endpoints.js';
import { applyRoleAndBinding, group } from '../../src/kube/rbac.js';
import { kubeClient } from '../../src/kube/client.js';
import { ApiBalancer, readyzCheck, upstreamsOfSlices, type ApiEndpointSlice } from '../../src/lb/balancer.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { components } from '../support/components.js';
import { waitFor } from '../support/proc.js';

const run = promisify(execFile);
let cp: ControlPlane;
let lb: ApiBalancer;
let watch: SliceWatch | undefined;
const lines: string[] = [];

async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  cp = await startControlPlane();
  // what init's bootstrap-token phase grants every node, then the node's own identity reads the slice
  await applyRoleAndBinding(await kubeClient(cp.kubeconfig('super-admin'), cp.host), apiEndpointsReaderRole(), [group('system:nodes')]);
  const node = await kubeClient(cp.kubeconfig('kubelet'), cp.host);
  const ca = Buffer.from(node.kc.getCurrentCluster()!.caData!, 'base64');
  lb = new ApiBalancer({
    listen: { host: '127.0.0.1', port: 0 },
    seeds: [
      { host: '127.0.0.1', port: await deadPort() },
      { host: '127.0.0.1', port: cp.ports.apiserver },
    ],
    check: readyzCheck(ca),
    healthIntervalMs: 500,
    log: (l) => lines.push(l),
  });
  await lb.start();
  watch = watchApiServerSlices<ApiEndpointSlice & { metadata?: { name?: string } }>(
    node,
    (slices) => lb.setDiscovered(upstreamsOfSlices(slices)),
    (l) => lines.push(l),
  );
});

after(async () => {
  watch?.stop();
  await lb?.stop();
  await cp?.stop();
});

test('kubectl through the balancer, /readyz as the health check; the node may watch the kubernetes EndpointSlice', async () => {
  const upstream = `127.0.0.1:${cp.ports.apiserver}`;
  await waitFor(
    'the API server upstream is healthy',
    async () => (lb.status().find((s) => s.address === upstream)?.healthy ? true : undefined),
    30_000,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(lb.status())} ${lines.join(' | ')}`);
  });
  const conf = parse(await cp.host.readText(cp.kubeconfig('super-admin'))) as { clusters: { cluster: Record<string, string> }[] };
  conf.clusters[0]!.cluster.server = `https://127.0.0.1:${lb.port()}`;
  conf.clusters[0]!.cluster['tls-server-name'] = 'kubernetes';
  const file = path.join(cp.rootfs, 'lb.conf');
  await writeFile(file, stringify(conf), { mode: 0o600 });
  const kubectl = components().binaries.kubectl.path;
  for (let i = 0; i < 3; i++) {
    const { stdout } = await run(kubectl, ['--kubeconfig', file, 'get', 'namespace', 'kube-system', '-o', 'name']);
    assert.equal(stdout.trim(), 'namespace/kube-system');
  }
  const dead = lb.status().find((s) => s.address !== upstream)!;
  assert.equal(dead.healthy, false, 'the dead seed is never used');
  console.log(`# lb: ${JSON.stringify(lb.status())}`);
  // the node may read the kubernetes EndpointSlice (404 here, not 403) and the watch is not refused
  const { stdout: canI } = await run(kubectl, [
    '--kubeconfig',
    file,
    'auth',
    'can-i',
    'watch',
    'endpointslices.discovery.k8s.io/kubernetes',
    '-n',
    'default',
    '--as',
    'system:node:cp1',
    '--as-group',
    'system:nodes',
  ]);
  assert.equal(canI.trim(), 'yes');
  assert.deepEqual(
    lines.filter((l) => /Forbidden/.test(l)),
    [],
  );

  await cp.procs.get('kube-apiserver')!.stop(5000);
  await waitFor(
    'the stopped API server is unhealthy',
    async () => (lb.status().find((s) => s.address === upstream)?.healthy === false ? true : undefined),
    10_000,
    100,
  );
  console.log(`# after stopping kube-apiserver: ${lines.filter((l) => l.includes(upstream)).join(' | ')}`);
});
