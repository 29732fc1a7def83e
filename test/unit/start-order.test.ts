import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { orderInfo, servedPorts, startAfterURLs, stopWaves, waitForURLs } from '../../src/agent/start-order.js';

function pod(name: string, port: number, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, annotations },
    spec: {
      containers: [
        {
          name,
          ports: [{ name: 'probe-port', containerPort: port }],
          livenessProbe: { httpGet: { path: '/livez', port: 'probe-port' } },
        },
      ],
    },
  };
}

// kubeadm's four, with the annotations kubestrap writes
const etcd = pod('etcd', 2381);
const apiserver = pod('kube-apiserver', 6443, { 'kubestrap.io/depends-on': 'http://127.0.0.1:2381/readyz' });
const cm = pod('kube-controller-manager', 10257, { 'kubestrap.io/start-after': 'https://10.0.0.1:6443/livez' });
const scheduler = pod('kube-scheduler', 10259, { 'kubestrap.io/start-after': 'https://10.0.0.1:6443/livez' });

test('only start-after is waited for; both annotations order the stop', () => {
  assert.deepEqual(startAfterURLs(cm).map(String), ['https://10.0.0.1:6443/livez']);
  assert.deepEqual(startAfterURLs(apiserver), []);
  assert.deepEqual(orderInfo(apiserver), { startAfter: ['http://127.0.0.1:2381/readyz'], ports: [6443] });
});

test('invalid and non-http entries are ignored', () => {
  const p = pod('x', 1, { 'kubestrap.io/start-after': 'not a url, ftp://h/x , http://127.0.0.1:1/a' });
  assert.deepEqual(startAfterURLs(p).map(String), ['http://127.0.0.1:1/a']);
});

test('served ports: container and host ports and numeric probe ports', () => {
  const p: V1Pod = {
    spec: {
      containers: [
        { name: 'a', ports: [{ containerPort: 80, hostPort: 8080 }], readinessProbe: { tcpSocket: { port: 9000 } } },
        { name: 'b', startupProbe: { httpGet: { path: '/', port: 9100 } } },
      ],
    },
  };
  assert.deepEqual(
    servedPorts(p).sort((a, b) => a - b),
    [80, 8080, 9000, 9100],
  );
});

test('stop waves: dependants first, providers last, unrelated pods in the first wave', () => {
  const other = pod('other', 9999);
  const waves = stopWaves([etcd, scheduler, apiserver, other, cm], orderInfo).map((w) => w.map((p) => p.metadata!.name).sort());
  assert.deepEqual(waves, [['kube-controller-manager', 'kube-scheduler'], ['kube-apiserver'], ['etcd', 'other']]);
});

test('stop waves: a cycle is broken where it is found; an unknown port adds no constraint', () => {
  const a = pod('a', 1001, { 'kubestrap.io/start-after': 'http://127.0.0.1:1002/' });
  const b = pod('b', 1002, { 'kubestrap.io/start-after': 'http://127.0.0.1:1001/' });
  const c = pod('c', 1003, { 'kubestrap.io/start-after': 'http://127.0.0.1:4242/' });
  const waves = stopWaves([a, b, c], orderInfo);
  assert.equal(waves.flat().length, 3);
  assert.ok(
    waves.at(-1)!.some((p) => p.metadata!.name === 'c'),
    'c waits for nothing that runs here',
  );
});

test('waitForURLs resolves once every URL answers 2xx/3xx; abort rejects', async () => {
  let calls = 0;
  const server = http.createServer((_req, res) => {
    calls++;
    res.statusCode = calls < 2 ? 500 : 200;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/livez`);
    assert.equal(await waitForURLs([url], new AbortController().signal, 30_000), true);
    assert.ok(calls >= 2);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(waitForURLs([url], ac.signal));
  } finally {
    server.close();
  }
});
