/**
 * The node-local balancer's wiring: init --node-local-lb adds the loopback names to the API server
 * certificate, join --node-local-lb is resolved (and allowed beside --config), the flag values are
 * host:port, the services' arguments, and the certificate check join makes before writing anything.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { resolveDocumentsSync } from '../../src/config/resolve.js';
import { resolveJoinConfig } from '../../src/config/join.js';
import { startNodeLocalBalancer } from '../../src/agent/index.js';
import { API_SERVERS_FILE, NODE_LOCAL_LB } from '../../src/constants.js';
import { ConfigError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { parseUpstream, tcpCheck } from '../../src/lb/balancer.js';
import { certificateNames } from '../../src/lb/server-name.js';
import { agentJoinArgs } from '../../src/phases/agent-node.js';
import { API_LB_SERVICE, apiLbService } from '../../src/phases/api-lb-service.js';
import { CERTIFICATE_BACKDATE_MS } from '../../src/pki/certificate.js';
import { generateKeyPair, privateKeyPem } from '../../src/pki/keys.js';
import { makeTestCA } from '../support/test-ca.js';

const quiet = (): void => undefined;

describe('init --node-local-lb', () => {
  it('adds 127.0.0.1 and localhost to apiServer.certSANs, after --apiserver-cert-extra-sans', () => {
    const docs = resolveDocumentsSync({ nodeLocalLb: true, apiserverCertExtraSans: 'api.example.com,127.0.0.1' }, { warn: quiet });
    assert.deepEqual(docs.cluster.apiServer.certSANs, ['api.example.com', '127.0.0.1', 'localhost']);
  });
  it('leaves certSANs alone without it', () => {
    assert.deepEqual(resolveDocumentsSync({}, { warn: quiet }).cluster.apiServer.certSANs, []);
  });
});

describe('join --node-local-lb', () => {
  it('is resolved from the flag, and off by default', () => {
    const flags = { nodeName: 'w1', token: 'abcdef.0123456789abcdef', discoveryTokenUnsafeSkipCaVerification: true };
    assert.equal(resolveJoinConfig({ ...flags, nodeLocalLb: true }, ['10.0.0.1:6443'], quiet).nodeLocalLb, true);
    assert.equal(resolveJoinConfig(flags, ['10.0.0.1:6443'], quiet).nodeLocalLb, false);
  });
  it('the agent runs the balancer itself: --api-lb-seed per seed', () => {
    const cfg = resolveJoinConfig(
      { nodeName: 'a1', token: 'abcdef.0123456789abcdef', discoveryTokenUnsafeSkipCaVerification: true, agent: true, nodeLocalLb: true },
      ['10.0.0.1:6443'],
      quiet,
    );
    const args = agentJoinArgs(cfg, new Host('/'), ['10.0.0.1:6443']);
    assert.ok(args.includes('--api-lb-seed=10.0.0.1:6443'), args.join(' '));
    assert.ok(!agentJoinArgs(cfg, new Host('/')).some((a) => a.startsWith('--api-lb-seed')));
  });
  it('beside a kubelet: the supervised `kubestrap lb`, waiting for kubelet.conf, /readyz with the cluster CA', () => {
    const svc = apiLbService(['10.0.0.1:6443'], '/etc/kubernetes/pki/ca.crt', new Host('/tmp/node1'));
    assert.equal(svc.pidFile, API_LB_SERVICE.pid);
    const i = svc.args.indexOf('lb');
    assert.deepEqual(svc.args.slice(i), [
      'lb',
      '--seed=10.0.0.1:6443',
      '--kubeconfig=/etc/kubernetes/kubelet.conf',
      '--wait-for-kubeconfig',
      '--ca-file=/etc/kubernetes/pki/ca.crt',
      '--health-check=readyz',
      '--state-file=/var/lib/kubestrap/api-servers.json',
      '--rootfs=/tmp/node1',
    ]);
    assert.match(svc.unitFiles[API_LB_SERVICE.unit]!, /Before=kubelet\.service/);
  });
});

describe('host:port flag values', () => {
  it('parses host:port and [v6]:port', () => {
    assert.deepEqual(parseUpstream('10.0.0.1:6443', '--seed'), { host: '10.0.0.1', port: 6443 });
    assert.deepEqual(parseUpstream('[fd00::1]:6443', '--seed'), { host: 'fd00::1', port: 6443 });
  });
  for (const bad of ['10.0.0.1', '10.0.0.1:', ':6443', 'h:99999', 'h:x'])
    it(`refuses ${JSON.stringify(bad)} naming the flag`, () => {
      assert.throws(
        () => parseUpstream(bad, '--api-lb-seed'),
        (err: unknown) => err instanceof ConfigError && err.field === '--api-lb-seed' && /is not host:port/.test(err.message),
      );
    });
});

/** A TLS server whose certificate (signed by a fresh CA) names `ips` and `kubernetes`. */
async function apiServer(ips: string[]): Promise<{ port: number; ca: string; close(): Promise<void> }> {
  const ca = await makeTestCA();
  const { privateKey, publicKey } = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const cert = await ca.signer.sign({
    commonName: 'kube-apiserver',
    organization: [],
    usages: ['serverAuth'],
    altNames: { dns: ['kubernetes'], ips },
    isCA: false,
    notBefore: new Date(now - CERTIFICATE_BACKDATE_MS),
    notAfter: new Date(now + 3600_000),
    publicKey,
  });
  const server = tls.createServer({ cert, key: privateKeyPem(privateKey) }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, ca: ca.pem, close: () => new Promise((r) => server.close(() => r())) };
}

describe('the API server certificate check of join --node-local-lb', () => {
  it('passes when the certificate names 127.0.0.1', async () => {
    const s = await apiServer(['10.96.0.1', NODE_LOCAL_LB.host]);
    try {
      assert.deepEqual(await certificateNames({ host: '127.0.0.1', port: s.port }, s.ca, NODE_LOCAL_LB.host), { ok: true });
    } finally {
      await s.close();
    }
  });
  it('fails, saying what the certificate names, when it does not', async () => {
    const s = await apiServer(['10.96.0.1']);
    try {
      const got = await certificateNames({ host: '127.0.0.1', port: s.port }, s.ca, NODE_LOCAL_LB.host);
      assert.equal(got.ok, false);
      assert.match(!got.ok ? got.reason : '', /its certificate names DNS:kubernetes, IP Address:10\.96\.0\.1, not 127\.0\.0\.1/);
    } finally {
      await s.close();
    }
  });
  it('fails on a certificate of another CA', async () => {
    const s = await apiServer([NODE_LOCAL_LB.host]);
    const other = await makeTestCA();
    try {
      const got = await certificateNames({ host: '127.0.0.1', port: s.port }, other.pem, NODE_LOCAL_LB.host);
      assert.equal(got.ok, false);
    } finally {
      await s.close();
    }
  });
});

describe('the node-local balancer after a restart', () => {
  it('starts from the API servers it kept, beside its seed', async () => {
    const rootfs = await mkdtemp(path.join(os.tmpdir(), 'ks-lb-state-'));
    const live = net.createServer((s) => s.end());
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    const port = (live.address() as net.AddressInfo).port;
    const host = new Host(rootfs);
    await host.writeFile(API_SERVERS_FILE, JSON.stringify([{ host: '127.0.0.1', port }, { bogus: true }]));
    const lines: string[] = [];
    const b = await startNodeLocalBalancer({
      host,
      listen: { host: '127.0.0.1', port: 0 },
      seeds: [{ host: '127.0.0.1', port: 1 }],
      check: tcpCheck,
      stateFile: API_SERVERS_FILE,
      log: (l) => lines.push(l),
    });
    try {
      assert.deepEqual(
        b.lb.status().map((s) => [s.address, s.healthy]),
        [
          ['127.0.0.1:1', false],
          [`127.0.0.1:${port}`, true],
        ],
      );
      assert.match(lines.join('\n'), /1 API server\(s\) from .*api-servers\.json/);
    } finally {
      await b.stop();
      await new Promise<void>((r) => live.close(() => r()));
      await rm(rootfs, { recursive: true, force: true });
    }
  });
  it('ignores a torn file', async () => {
    const rootfs = await mkdtemp(path.join(os.tmpdir(), 'ks-lb-state-'));
    const host = new Host(rootfs);
    await host.writeFile(API_SERVERS_FILE, '[{"host": "10.0');
    const b = await startNodeLocalBalancer({
      host,
      listen: { host: '127.0.0.1', port: 0 },
      seeds: [],
      check: tcpCheck,
      stateFile: API_SERVERS_FILE,
      log: () => undefined,
    });
    try {
      assert.deepEqual(b.lb.status(), []);
    } finally {
      await b.stop();
      await rm(rootfs, { recursive: true, force: true });
    }
  });
});
