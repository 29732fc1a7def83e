import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { bootstrapTokenSecret, generateToken, parseToken, tokenFromSecret } from '../../src/kube/bootstrap-token.js';
import { decryptWithCertificateKey, encryptWithCertificateKey, generateCertificateKey } from '../../src/kube/copycerts.js';
import { caCertHash, clusterInfoKubeconfig, clusterInfoSignatures, signDetachedJWS, verifyDetachedJWS } from '../../src/kube/discovery.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../src/kube/errors.js';
import { ApiException } from '@kubernetes/client-node';

/** A self-signed CA made by openssl, so the hash is checked against an independent implementation. */
function opensslCA(dir: string, algo: string[]): string {
  const key = path.join(dir, 'ca.key');
  const crt = path.join(dir, 'ca.crt');
  execFileSync('openssl', ['req', '-x509', ...algo, '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=kubernetes', '-days', '1'], { stdio: 'ignore' });
  return crt;
}

describe('caCertHash', () => {
  for (const [name, algo] of [
    ['RSA', ['-newkey', 'rsa:2048']],
    ['ECDSA', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']],
  ] as const) {
    it(`equals openssl's sha256 of the DER SubjectPublicKeyInfo (${name})`, () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'kube-hash-'));
      try {
        const crt = opensslCA(dir, [...algo]);
        const want = execFileSync('sh', ['-c', `openssl x509 -pubkey -noout -in ${crt} | openssl pkey -pubin -outform der | sha256sum`])
          .toString()
          .split(' ')[0];
        const pem = readFileSync(crt, 'utf8');
        assert.equal(caCertHash(pem), `sha256:${want}`);
        assert.ok(new X509Certificate(pem));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('detached JWS', () => {
  it('verifies what was signed with the token secret, and nothing else', () => {
    const jws = signDetachedJWS('payload', 'abcdef', '0123456789abcdef');
    assert.match(jws, /^[\w-]+\.\.[\w-]+$/);
    assert.ok(verifyDetachedJWS(jws, 'payload', 'abcdef', '0123456789abcdef'));
    assert.ok(!verifyDetachedJWS(jws, 'payload2', 'abcdef', '0123456789abcdef'));
    assert.ok(!verifyDetachedJWS(jws, 'payload', 'abcdeg', '0123456789abcdef'));
    assert.ok(!verifyDetachedJWS(jws, 'payload', 'abcdef', '0123456789abcdeX'));
    assert.ok(!verifyDetachedJWS('a.b.c', 'payload', 'abcdef', '0123456789abcdef'));
  });
});

describe('cluster-info kubeconfig', () => {
  it('has one cluster named "" with server and CA, no users', () => {
    const doc = parse(clusterInfoKubeconfig('https://10.0.0.1:6443', 'PEM')) as Record<string, unknown>;
    assert.deepEqual(doc.clusters, [
      { cluster: { 'certificate-authority-data': Buffer.from('PEM').toString('base64'), server: 'https://10.0.0.1:6443' }, name: '' },
    ]);
    assert.equal(doc.users, null);
    assert.equal(doc.kind, 'Config');
  });
});

describe('bootstrap token Secret', () => {
  it("carries kubeadm's keys, type and expiration", () => {
    const now = new Date('2026-01-01T00:00:00.000Z');
    const s = bootstrapTokenSecret(
      {
        token: 'abcdef.0123456789abcdef',
        ttl: '24h0m0s',
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
        description: 'd',
      },
      now,
    );
    const data = Object.fromEntries(Object.entries(s.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    assert.equal(s.metadata?.name, 'bootstrap-token-abcdef');
    assert.equal(s.metadata?.namespace, 'kube-system');
    assert.equal(s.type, 'bootstrap.kubernetes.io/token');
    assert.deepEqual(data, {
      'token-id': 'abcdef',
      'token-secret': '0123456789abcdef',
      description: 'd',
      expiration: '2026-01-02T00:00:00Z',
      'usage-bootstrap-signing': 'true',
      'usage-bootstrap-authentication': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    });
  });
  it('generates tokens that match the pattern', () => {
    for (let i = 0; i < 50; i++) assert.ok(parseToken(generateToken()));
    assert.equal(parseToken('ABCDEF.0123456789abcdef'), undefined);
  });
});

describe('upload-certs encryption', () => {
  it('round-trips as nonce ‖ ciphertext ‖ tag with a 64-hex key', () => {
    const key = generateCertificateKey();
    assert.match(key, /^[0-9a-f]{64}$/);
    const sealed = encryptWithCertificateKey('secret data', key);
    assert.equal(sealed.length, 12 + 'secret data'.length + 16);
    assert.equal(decryptWithCertificateKey(sealed, key).toString(), 'secret data');
    assert.throws(() => decryptWithCertificateKey(sealed, generateCertificateKey()));
    assert.throws(() => encryptWithCertificateKey('x', 'short'), /64 hexadecimal/);
  });
});

describe('API error classes', () => {
  const status = (code: number, reason: string): ApiException<string> => new ApiException(code, 'x', JSON.stringify({ kind: 'Status', reason, code }), {});
  it('tells AlreadyExists from a conflict', () => {
    assert.ok(isAlreadyExists(status(409, 'AlreadyExists')));
    assert.ok(!isConflict(status(409, 'AlreadyExists')));
    assert.ok(isConflict(status(409, 'Conflict')));
    assert.ok(isNotFound(status(404, 'NotFound')));
    assert.ok(!isNotFound(new Error('ECONNREFUSED')));
  });
});

describe('clusterInfoSignatures (what bootstrapsigner adds to cluster-info)', () => {
  const kubeconfig = clusterInfoKubeconfig('https://198.18.0.10:6443', 'CA');
  const now = new Date('2026-01-01T00:00:00Z');
  it('signs each unexpired token with the signing usage under jws-kubeconfig-<id>', () => {
    const tokens = [
      { token: 'abcdef.0123456789abcdef', usages: ['signing', 'authentication'], expires: '2026-01-02T00:00:00Z' },
      { token: 'ghijkl.0123456789abcdef', usages: ['authentication'] },
      { token: 'mnopqr.0123456789abcdef', usages: ['signing'], expires: '2025-12-31T00:00:00Z' },
      { token: 'stuvwx.0123456789abcdef', usages: ['signing'] },
    ];
    const sigs = clusterInfoSignatures(kubeconfig, tokens, now);
    assert.deepEqual(Object.keys(sigs).sort(), ['jws-kubeconfig-abcdef', 'jws-kubeconfig-stuvwx']);
    assert.equal(sigs['jws-kubeconfig-abcdef'], signDetachedJWS(kubeconfig, 'abcdef', '0123456789abcdef'));
    assert.ok(verifyDetachedJWS(sigs['jws-kubeconfig-stuvwx']!, kubeconfig, 'stuvwx', '0123456789abcdef'));
  });
  it("takes init's tokens through their Secrets (TTL → expiration)", () => {
    const secret = bootstrapTokenSecret({ token: 'abcdef.0123456789abcdef', ttl: '24h', usages: ['signing', 'authentication'], groups: [] }, now);
    assert.deepEqual(Object.keys(clusterInfoSignatures(kubeconfig, [tokenFromSecret(secret)], now)), ['jws-kubeconfig-abcdef']);
    assert.deepEqual(clusterInfoSignatures(kubeconfig, [tokenFromSecret(secret)], new Date('2026-01-03T00:00:00Z')), {});
  });
});
