/** AgentClient against a fake read-only server: pods, errors, healthz, waiting for a hash, errors naming the agent. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_HASH, AgentClient } from '../../src/agent/index.js';
import { HostError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';

let hash = 'old';
let server: http.Server;
let port: number;
const pod = (): V1Pod => ({
  metadata: { name: 'kube-apiserver-node1', namespace: 'kube-system', labels: { component: 'kube-apiserver' }, annotations: { [ANNOTATION_HASH]: hash } },
  status: { phase: 'Running', containerStatuses: [{ name: 'kube-apiserver', ready: hash === 'new', restartCount: 0, image: 'x', imageID: '' }] },
});

before(async () => {
  server = http.createServer((req, res) => {
    const bodies: Record<string, unknown> = {
      '/pods': { kind: 'PodList', apiVersion: 'v1', items: [pod()] },
      '/errors': { kind: 'SourceErrorList', items: [] },
      '/healthz': 'ok',
    };
    const body = bodies[req.url ?? ''];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200).end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise((resolve) => server.close(resolve)));

test('pods, errors, healthz and findPod by full name or component label', async () => {
  const c = new AgentClient({ host: new Host('/'), port });
  assert.equal((await c.pods()).items.length, 1);
  assert.deepEqual((await c.errors()).items, []);
  assert.equal(await c.healthz(), true);
  assert.equal((await c.findPod('kube-apiserver', 'node1'))?.metadata?.name, 'kube-apiserver-node1');
  assert.equal(await c.findPod('etcd', 'node1'), undefined);
});

test('waitForPod resolves once the pod runs the wanted hash and is ready, else says what it saw', async () => {
  const c = new AgentClient({ host: new Host('/'), port });
  hash = 'old';
  setTimeout(() => (hash = 'new'), 150);
  const got = await c.waitForPod('kube-apiserver', 'node1', { hash: 'new', ready: true }, { timeoutMs: 5000, pollMs: 50 });
  assert.equal(got.metadata?.annotations?.[ANNOTATION_HASH], 'new');
  const err = await c.waitForPod('kube-apiserver', 'node1', { hash: 'other' }, { timeoutMs: 100, pollMs: 50 }).catch((e: unknown) => e);
  assert.ok(err instanceof HostError);
  assert.match(err.oneLine(), /^pod kube-apiserver-node1 is not hash other after 100 ms \(the agent reports phase Running/);
});

test('an agent that does not answer: one HostError naming it, with the cause kept', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const free = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const err = await new AgentClient({ host: new Host('/'), port: free }).pods().catch((e: unknown) => e);
  assert.ok(err instanceof HostError);
  assert.match(err.message, new RegExp(`^cannot reach the kubestrap agent at 127\\.0\\.0\\.1:${free}: the agent is not running`));
  assert.ok(err.cause instanceof Error);
  assert.equal(await new AgentClient({ host: new Host('/'), port: free }).healthz(200), false);
});
