/**
 * The agent's kubelet API without a cluster: real TLS (a test CA, a client of another CA), a fake
 * authorizer, CRI log files written by hand. 401/403 as the kubelet words them, the fine-grained
 * subresources, the log options, follow ending with the attempt, exec refused (plain and Upgrade).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestAttributes, type Attributes, type User } from '../../src/agent/kubelet-server/auth.js';
import { parseLogOptions } from '../../src/agent/kubelet-server/logs.js';
import { KubeletServer } from '../../src/agent/kubelet-server/server.js';
import { ensureServingCert } from '../../src/agent/kubelet-server/serving-cert.js';
import { memoryLogger } from '../../src/agent/log.js';
import type { StaticPod } from '../../src/agent/pod-types.js';
import { Host } from '../../src/host/host.js';
import { Signer } from '../../src/pki/certificate.js';
import { generateKeyPair, privateKeyPem } from '../../src/pki/keys.js';
import { makeTestCA } from '../support/test-ca.js';

async function client(ca: Signer, cn: string, o: string[] = []): Promise<{ cert: string; key: string }> {
  const { privateKey, publicKey } = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const cert = await ca.sign({
    commonName: cn,
    organization: o,
    usages: ['clientAuth'],
    altNames: { dns: [], ips: [] },
    isCA: false,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86400_000),
    publicKey,
  });
  return { cert, key: privateKeyPem(privateKey) };
}

const POD: StaticPod = {
  uid: 'u1',
  name: 'web-n1',
  namespace: 'kube-system',
  source: 'file',
  origin: '/etc/kubernetes/manifests/web.yaml',
  hash: 'u1',
  pod: { metadata: { name: 'web-n1', namespace: 'kube-system' }, spec: { containers: [{ name: 'web', image: 'x' }] } },
};

describe('kubelet API', () => {
  let root: string;
  let port: number;
  let server: KubeletServer;
  let ok: { cert: string; key: string };
  let nobody: { cert: string; key: string };
  let foreign: { cert: string; key: string };
  let logDir: string;
  const asked: Attributes[] = [];
  before(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'kubestrap-kubelet-api-'));
    const host = new Host(root);
    const ca = await makeTestCA('kubernetes');
    const other = await makeTestCA('other');
    mkdirSync(path.join(root, 'etc/kubernetes/pki'), { recursive: true });
    writeFileSync(path.join(root, 'etc/kubernetes/pki/ca.crt'), ca.pem);
    writeFileSync(path.join(root, 'etc/kubernetes/pki/ca.key'), privateKeyPem(ca.signer.key));
    const servingCert = {
      host,
      nodeName: 'n1',
      nodeIP: '10.0.0.5',
      certFile: '/var/lib/kubestrap/pki/kubelet.crt',
      keyFile: '/var/lib/kubestrap/pki/kubelet.key',
      caCertFile: '/etc/kubernetes/pki/ca.crt',
      caKeyFile: '/etc/kubernetes/pki/ca.key',
    };
    const serving = await ensureServingCert(servingCert);
    assert.equal(serving.made, 'signed');
    const again = await ensureServingCert(servingCert);
    assert.equal(again.made, 'reused');
    ok = await client(ca.signer, 'kube-apiserver-kubelet-client', ['kubeadm:cluster-admins']);
    nobody = await client(ca.signer, 'alice');
    foreign = await client(other.signer, 'mallory', ['system:masters']);
    logDir = path.join(root, 'var/log/pods/kube-system_web-n1_u1/web');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(path.join(logDir, '0.log'), '2026-01-01T00:00:00.000000000Z stdout F old one\n2026-01-01T00:00:01.000000000Z stdout F old two\n');
    const lines = Array.from({ length: 6 }, (_, i) => `2026-01-01T00:01:0${i}.000000000Z ${i % 2 ? 'stderr' : 'stdout'} F line ${i}\n`).join('');
    writeFileSync(path.join(logDir, '1.log'), `${lines}2026-01-01T00:01:07.000000000Z stdout P part-\n2026-01-01T00:01:07.000000000Z stdout F whole\n`);
    const decide = async (user: User, a: Attributes): Promise<boolean> => {
      asked.push(a);
      return user.groups.includes('kubeadm:cluster-admins');
    };
    server = new KubeletServer({
      view: { desired: () => [POD], states: () => [], errors: () => [], metrics: () => 'm 1\n' },
      authenticateToken: async (t) => (t === 'good' ? { name: 'bob', groups: ['kubeadm:cluster-admins'] } : undefined),
      host,
      logger: memoryLogger(),
      certPem: serving.certPem,
      keyPem: serving.keyPem,
      clientCAPem: ca.pem,
      decide,
    });
    port = await server.listen(0, '127.0.0.1');
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  const get = (p: string, cred?: { cert: string; key: string }, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, agent: false, headers, ...(cred ?? {}) }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const logs = async (q: string): Promise<string> => {
    const r = await get(`/containerLogs/kube-system/web-n1/web${q}`, ok);
    assert.equal(r.status, 200, r.body);
    return r.body;
  };

  it('refuses anonymous requests and certificates of another CA with 401', async () => {
    assert.deepEqual(await get('/healthz'), { status: 401, body: 'Unauthorized' });
    assert.deepEqual(await get('/pods', foreign), { status: 401, body: 'Unauthorized' });
    assert.deepEqual(await get('/healthz', undefined, { authorization: 'Bearer bad' }), { status: 401, body: 'Unauthorized' });
    assert.deepEqual(await get('/metrics', undefined, { authorization: 'Bearer good' }), { status: 200, body: 'm 1\n' });
  });

  it('authorizes with fine-grained subresources and words 403 as the kubelet', async () => {
    asked.length = 0;
    assert.deepEqual(await get('/pods', nobody), { status: 403, body: 'Forbidden (user=alice, verb=get, resource=nodes, subresource(s)=[pods proxy])\n' });
    assert.deepEqual(
      asked.map((a) => a.subresource),
      ['pods', 'proxy'],
    );
    assert.deepEqual(requestAttributes('GET', '/containerLogs/a/b/c'), [{ verb: 'get', subresource: 'proxy' }]);
    assert.deepEqual(requestAttributes('POST', '/exec/a/b/c'), [{ verb: 'create', subresource: 'proxy' }]);
    assert.deepEqual(requestAttributes('GET', '/metrics/cadvisor'), [{ verb: 'get', subresource: 'metrics' }]);
    assert.deepEqual(requestAttributes('GET', '/healthz'), [
      { verb: 'get', subresource: 'healthz' },
      { verb: 'get', subresource: 'proxy' },
    ]);
    assert.deepEqual(await get('/healthz', ok), { status: 200, body: 'ok' });
    const pods = JSON.parse((await get('/pods', ok)).body) as { kind: string; items: unknown[] };
    assert.equal(pods.kind, 'PodList');
    assert.equal(pods.items.length, 1);
  });

  it('serves the current attempt with tailLines, timestamps, stream, limitBytes; previous; errors as the kubelet', async () => {
    assert.equal(await logs('?tailLines=2'), 'line 5\npart-whole\n');
    assert.equal(await logs('?tailLines=1&timestamps=true'), '2026-01-01T00:01:07.000000000Z part-whole\n');
    assert.equal(await logs('?stream=Stderr&tailLines=2'), 'line 3\nline 5\n');
    assert.equal(await logs('?limitBytes=10'), 'line 0\nlin');
    assert.equal(await logs('?previous=true'), 'old one\nold two\n');
    assert.equal(await logs('?sinceTime=2026-01-01T00:01:04Z&tailLines=2'), 'line 5\npart-whole\n');
    assert.deepEqual(await get('/containerLogs/kube-system/nope/web', ok), { status: 404, body: 'pod "nope" does not exist' });
    assert.deepEqual(await get('/containerLogs/kube-system/web-n1/db', ok), { status: 404, body: 'container "db" not found in pod "web-n1"' });
    assert.throws(() => parseLogOptions(new URLSearchParams('sinceSeconds=1&sinceTime=2026-01-01T00:00:00Z')), /Invalid request/);
  });

  it('follows new lines and ends when a newer attempt starts', async () => {
    const body = new Promise<string>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, path: '/containerLogs/kube-system/web-n1/web?follow=true&tailLines=1', rejectUnauthorized: false, agent: false, ...ok },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              text += c;
              if (text === 'part-whole\n') appendFileSync(path.join(logDir, '1.log'), '2026-01-01T00:02:00.000000000Z stdout F later\n');
              if (text.endsWith('later\n')) writeFileSync(path.join(logDir, '2.log'), '');
            });
            res.on('end', () => resolve(text));
          },
        )
        .on('error', reject);
    });
    assert.equal(await body, 'part-whole\nlater\n');
  });

  it('answers exec, attach and port-forward at once, also as an Upgrade request', async () => {
    const plain = await get('/exec/kube-system/web-n1/web?command=ls', ok);
    assert.equal(plain.status, 501);
    assert.match(plain.body, /^exec is not supported by the kubestrap agent/);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...ok }, () => {
        socket.write('POST /portForward/kube-system/web-n1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 501 Not Implemented\r\n/);
    assert.match(raw, /port-forward is not supported by the kubestrap agent/);
  });
});
