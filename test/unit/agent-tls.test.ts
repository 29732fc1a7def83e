/**
 * The agent's TLS bootstrap pieces: the node client CSR (read back by openssl), its digested name
 * and usages, the rotation deadline, the kubelet-client cert store, the CSR verdicts, the checks of
 * an issued certificate and kubelet.conf as the kubelet writes it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { Host } from '../../src/host/host.js';
import { Signer, CERTIFICATE_BACKDATE_MS } from '../../src/pki/certificate.js';
import { generateKeyPair, privateKeyPem } from '../../src/pki/keys.js';
import { kubeconfigProblem, requestFailure } from '../../src/agent/tls/bootstrap.js';
import { ClientCertStore, pairTimestamp, splitPair } from '../../src/agent/tls/cert-store.js';
import { rotationDeadline } from '../../src/agent/tls/cert-rotation.js';
import { checkIssued, csrVerdict, CsrError } from '../../src/agent/tls/csr-api.js';
import { digestedName, nodeClientUsages, nodeCsrObject, nodeCsrPem, nodeSubject, NODE_CLIENT_SIGNER } from '../../src/agent/tls/node-csr.js';
import { nodeKubeconfig } from '../../src/agent/tls/node-kubeconfig.js';
import { makeTestCA } from '../support/test-ca.js';

const openssl = (args: string[], input: string): string => execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

const makeCa = async (cn?: string): Promise<Signer> => (await makeTestCA(cn)).signer;

function issue(
  ca: Signer,
  key: KeyObject,
  cn: string,
  o: string[],
  opts: { usages?: ('clientAuth' | 'serverAuth')[]; notBefore?: Date; notAfter?: Date } = {},
): Promise<string> {
  const now = Date.now();
  return ca.sign({
    commonName: cn,
    organization: o,
    usages: opts.usages ?? ['clientAuth'],
    altNames: { dns: [], ips: [] },
    isCA: false,
    notBefore: opts.notBefore ?? new Date(now - CERTIFICATE_BACKDATE_MS),
    notAfter: opts.notAfter ?? new Date(now + 3600_000),
    publicKey: createPublicKey(key),
  });
}

describe('node client CSR', () => {
  it('is what the kubelet sends: O=system:nodes, CN=system:node:<name>, P-256, ECDSA-SHA256, no extensions', async () => {
    const { privateKey } = await generateKeyPair('ECDSA-P256');
    const pem = await nodeCsrPem('w2', privateKey);
    const text = openssl(['req', '-text', '-noout', '-verify'], pem);
    assert.match(text, /Subject: O = system:nodes, CN = system:node:w2\n/);
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Attributes:\s*\n\s*\(none\)/, 'no extensionRequest: certutil.MakeCSR with no SANs adds none');
    assert.doesNotMatch(text, /Subject Alternative Name/);
    const obj = nodeCsrObject(pem, nodeClientUsages(privateKey), 'node-csr-x');
    assert.deepEqual(obj.spec.usages, ['digital signature', 'client auth']);
    assert.equal(obj.spec.signerName, NODE_CLIENT_SIGNER);
    assert.equal(obj.spec.signerName, 'kubernetes.io/kube-apiserver-client-kubelet');
    assert.equal(Buffer.from(obj.spec.request, 'base64').toString(), pem);
    assert.deepEqual(obj.metadata, { name: 'node-csr-x' });
    assert.deepEqual(nodeCsrObject(pem, ['client auth']).metadata, { generateName: 'csr-' }, 'a rotation is named by the server');
  });

  it('asks for key encipherment too with an RSA key, as the kubelet does', async () => {
    const { privateKey } = await generateKeyPair('RSA-2048');
    assert.deepEqual(nodeClientUsages(privateKey), ['digital signature', 'client auth', 'key encipherment']);
  });

  it('is named by a digest of key, subject and usages (node-csr-<base64url SHA-512/256>)', async () => {
    const a = (await generateKeyPair('ECDSA-P256')).privateKey;
    const b = (await generateKeyPair('ECDSA-P256')).privateKey;
    const usages = nodeClientUsages(a);
    const name = digestedName(a, nodeSubject('w2'), usages);
    assert.match(name, /^node-csr-[A-Za-z0-9_-]{43}$/);
    assert.equal(digestedName(a, nodeSubject('w2'), usages), name, 'the same request gets the same name (a restarted bootstrap finds it)');
    assert.notEqual(digestedName(b, nodeSubject('w2'), usages), name);
    assert.notEqual(digestedName(a, nodeSubject('w3'), usages), name);
    assert.notEqual(digestedName(a, nodeSubject('w2'), ['client auth']), name);
  });
});

describe('rotation deadline', () => {
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const notAfter = new Date('2027-01-01T00:00:00Z');
  const year = notAfter.getTime() - notBefore.getTime();
  it('is at 70–90 % of the lifetime (client-go jitteryDuration)', () => {
    assert.equal(rotationDeadline(notBefore, notAfter, () => 0).getTime(), notBefore.getTime() + 0.7 * year);
    assert.equal(rotationDeadline(notBefore, notAfter, () => 0.5).getTime(), notBefore.getTime() + 0.8 * year);
    assert.ok(Math.abs(rotationDeadline(notBefore, notAfter, () => 1).getTime() - (notBefore.getTime() + 0.9 * year)) <= 1);
    for (let i = 0; i < 200; i++) {
      const f = (rotationDeadline(notBefore, notAfter).getTime() - notBefore.getTime()) / year;
      assert.ok(f >= 0.7 && f < 0.9, `fraction ${f}`);
    }
  });
  it('is in the past for a certificate beyond it (rotated at once)', () => {
    const now = Date.now();
    assert.ok(rotationDeadline(new Date(now - 9 * 60_000), new Date(now + 60_000), () => 1).getTime() <= now);
  });
});

describe('refused bootstrap requests', () => {
  const apiError = (code: number, message: string): Error => Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify({ message }) });
  it('say what an expired token or missing RBAC means', () => {
    assert.equal(
      requestFailure(apiError(401, 'Unauthorized')),
      'cannot request a certificate: the API server does not accept the bootstrap token: it is unknown or expired (kubestrap token create makes a new one); Unauthorized (HTTP 401)',
    );
    assert.match(requestFailure(apiError(403, 'forbidden')), /its group needs the system:node-bootstrapper role .*; forbidden \(HTTP 403\)$/);
    assert.equal(requestFailure(new Error('connect ECONNREFUSED 10.0.0.1:6443')), 'cannot request a certificate: connect ECONNREFUSED 10.0.0.1:6443');
  });
});

describe('csr verdicts', () => {
  const base = { metadata: { name: 'n', uid: 'u' }, spec: { request: '', signerName: NODE_CLIENT_SIGNER } };
  it('waits, then takes the certificate once approved and issued', () => {
    assert.deepEqual(csrVerdict(base), { approved: false });
    assert.deepEqual(csrVerdict({ ...base, status: { conditions: [{ type: 'Approved', status: 'True' }] } }), { approved: true });
    const cert = Buffer.from('PEM').toString('base64');
    assert.deepEqual(csrVerdict({ ...base, status: { certificate: cert, conditions: [{ type: 'Approved', status: 'True' }] } }), {
      approved: true,
      issued: 'PEM',
    });
  });
  it('names a denial or failure with its reason and message', () => {
    assert.equal(
      csrVerdict({ ...base, status: { conditions: [{ type: 'Denied', status: 'True', reason: 'AdminDenied', message: 'no' }] } }).error,
      'was denied (reason AdminDenied: no)',
    );
    assert.equal(csrVerdict({ ...base, status: { conditions: [{ type: 'Failed', status: 'True' }] } }).error, 'failed (no reason given)');
  });
});

describe('issued certificate checks', () => {
  let ca: Signer;
  let key: KeyObject;
  before(async () => {
    ca = await makeCa();
    key = (await generateKeyPair('ECDSA-P256')).privateKey;
  });
  it('accepts the node certificate of the cluster CA', async () => {
    const pem = await issue(ca, key, 'system:node:w2', ['system:nodes']);
    assert.equal(checkIssued(pem, key, 'w2', ca.certPem, 'csr-1').subject, 'O=system:nodes\nCN=system:node:w2');
  });
  it('refuses another signer, another identity, another key, server auth only', async () => {
    const other = await makeCa('someone-else');
    const otherKey = (await generateKeyPair('ECDSA-P256')).privateKey;
    const cases: [string, KeyObject, RegExp][] = [
      [await issue(other, key, 'system:node:w2', ['system:nodes']), key, /is signed by "CN=someone-else", not by the cluster CA "CN=kubernetes"/],
      [await issue(ca, key, 'system:node:w3', ['system:nodes']), key, /has subject "O=system:nodes, CN=system:node:w3"/],
      [await issue(ca, key, 'system:node:w2', ['system:nodes']), otherKey, /is for another key/],
      [await issue(ca, key, 'system:node:w2', ['system:nodes'], { usages: ['serverAuth'] }), key, /is not for client authentication/],
    ];
    for (const [pem, k, re] of cases) {
      assert.throws(
        () => checkIssued(pem, k, 'w2', ca.certPem, 'csr-1'),
        (err: unknown) => err instanceof CsrError && re.test(err.message) && err.message.startsWith('the certificate issued for csr-1 '),
      );
    }
  });
});

describe('kubelet-client cert store', () => {
  let dir: string;
  let host: Host;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'agent-tls-'));
    host = new Host(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('names pairs like the kubelet and links current relatively, mode 0600', async () => {
    assert.equal(pairTimestamp(new Date(2026, 0, 2, 3, 4, 5)), '2026-01-02-03-04-05');
    const ca = await makeCa();
    const store = new ClientCertStore(host, '/var/lib/kubelet/pki');
    assert.equal(store.currentPath(), '/var/lib/kubelet/pki/kubelet-client-current.pem');
    assert.equal(await store.current(), undefined);
    const key = (await generateKeyPair('ECDSA-P256')).privateKey;
    const cert = await issue(ca, key, 'system:node:w2', ['system:nodes']);
    const when = new Date(2026, 4, 6, 7, 8, 9);
    const pair = await store.update(cert, privateKeyPem(key), when);
    const real = path.join(dir, 'var/lib/kubelet/pki');
    assert.equal(await readlink(path.join(real, 'kubelet-client-current.pem')), 'kubelet-client-2026-05-06-07-08-09.pem');
    assert.equal((await stat(path.join(real, 'kubelet-client-2026-05-06-07-08-09.pem'))).mode & 0o777, 0o600);
    const text = await readFile(path.join(real, 'kubelet-client-current.pem'), 'utf8');
    assert.match(text, /^-----BEGIN CERTIFICATE-----[\s\S]*-----BEGIN EC PRIVATE KEY-----/, 'certificate first, then the key');
    assert.deepEqual(splitPair(text), { certPem: cert, keyPem: privateKeyPem(key) });
    assert.equal(pair.cert.subject, 'O=system:nodes\nCN=system:node:w2');
    // a rotation relinks; the old pair stays
    const key2 = (await generateKeyPair('ECDSA-P256')).privateKey;
    await store.update(await issue(ca, key2, 'system:node:w2', ['system:nodes']), privateKeyPem(key2), new Date(2026, 4, 6, 7, 8, 10));
    assert.equal(await readlink(path.join(real, 'kubelet-client-current.pem')), 'kubelet-client-2026-05-06-07-08-10.pem');
    assert.ok((await lstat(path.join(real, 'kubelet-client-2026-05-06-07-08-09.pem'))).isFile());
    assert.ok((await store.current())?.cert.checkPrivateKey(key2));
  });

  it('refuses to replace a regular file where the current link belongs', async () => {
    const host2 = new Host(await mkdtemp(path.join(tmpdir(), 'agent-tls-')));
    const store = new ClientCertStore(host2, '/pki');
    await host2.writeFile('/pki/kubelet-client-current.pem', 'x');
    const ca = await makeCa();
    const key = (await generateKeyPair('ECDSA-P256')).privateKey;
    await assert.rejects(store.update(await issue(ca, key, 'system:node:w2', ['system:nodes']), privateKeyPem(key)), /is a file, not a symlink/);
    await rm(host2.rootfs, { recursive: true, force: true });
  });

  it('tells why a kubeconfig needs a bootstrap, reading the pair through the rootfs', async () => {
    assert.equal(await kubeconfigProblem(host, '/etc/kubernetes/kubelet.conf'), 'does not exist');
    const ca = await makeCa();
    const conf = (pairFile: string): string => nodeKubeconfig({ server: 'https://10.0.0.1:6443', caPem: ca.certPem, pairFile });
    await host.writeFile('/etc/kubernetes/kubelet.conf', conf('/var/lib/kubelet/pki/kubelet-client-current.pem'));
    assert.equal(await kubeconfigProblem(host, '/etc/kubernetes/kubelet.conf'), undefined, 'the pair written above is valid');
    assert.match(
      (await kubeconfigProblem(host, '/etc/kubernetes/kubelet.conf', new Date(Date.now() + 2 * 3600_000))) ?? '',
      /^its client certificate expired at /,
    );
    await host.writeFile('/etc/kubernetes/kubelet.conf', conf('/var/lib/kubelet/pki/missing.pem'));
    assert.match((await kubeconfigProblem(host, '/etc/kubernetes/kubelet.conf')) ?? '', /cannot read \/var\/lib\/kubelet\/pki\/missing.pem/);
    await writeFile(
      path.join(dir, 'etc/kubernetes/kubelet.conf'),
      'apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://x"}}]\nusers: [{name: u, user: {token: t}}]\n',
    );
    assert.equal(await kubeconfigProblem(host, '/etc/kubernetes/kubelet.conf'), 'has no client certificate');
  });
});

describe('kubelet.conf after the bootstrap', () => {
  it('has the kubelet’s names, the bootstrap server and CA, and the current pair as certificate and key', () => {
    const doc = parse(nodeKubeconfig({ server: 'https://10.0.0.1:6443', caPem: 'CA', pairFile: '/var/lib/kubelet/pki/kubelet-client-current.pem' })) as Record<
      string,
      unknown
    >;
    assert.deepEqual(doc, {
      apiVersion: 'v1',
      clusters: [{ cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA').toString('base64') }, name: 'default-cluster' }],
      contexts: [{ context: { cluster: 'default-cluster', namespace: 'default', user: 'default-auth' }, name: 'default-context' }],
      'current-context': 'default-context',
      kind: 'Config',
      preferences: {},
      users: [
        {
          name: 'default-auth',
          user: { 'client-certificate': '/var/lib/kubelet/pki/kubelet-client-current.pem', 'client-key': '/var/lib/kubelet/pki/kubelet-client-current.pem' },
        },
      ],
    });
  });
});
