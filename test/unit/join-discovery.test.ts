import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { caCertHash, clusterInfoKubeconfig, signDetachedJWS } from '../../src/kube/discovery.js';
import { DiscoveryError, discoverFromFile, discoverWithToken } from '../../src/kube/join-discovery.js';

const TOKEN = 'abcdef.0123456789abcdef';
const OTHER = 'zzzzzz.0123456789abcdef';

/** A CA and a serving certificate for 127.0.0.1 it signed, made by openssl. */
function makePki(dir: string): { caPem: string; certPem: string; keyPem: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=kubernetes',
    '-days',
    '1',
  ]);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=kube-apiserver']);
  writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '1', '-extfile', 'ext']);
  const read = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  return { caPem: read('ca.crt'), certPem: read('srv.crt'), keyPem: read('srv.key') };
}

interface FakeApi {
  endpoint: string;
  server: string;
  /** The data of cluster-info; change it per test. */
  data: Record<string, string>;
  requests: number;
  close(): Promise<void>;
}

async function fakeApiServer(pki: { certPem: string; keyPem: string; caPem: string }): Promise<FakeApi> {
  const api: FakeApi = { endpoint: '', server: '', data: {}, requests: 0, close: async () => undefined };
  const srv = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    api.requests++;
    if (req.url !== '/api/v1/namespaces/kube-public/configmaps/cluster-info') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'ConfigMap', data: api.data }));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  api.endpoint = `127.0.0.1:${port}`;
  api.server = `https://127.0.0.1:${port}`;
  api.close = () => new Promise((resolve) => srv.close(() => resolve()));
  return api;
}

function signed(api: FakeApi, caPem: string, tokens: readonly string[]): Record<string, string> {
  const kubeconfig = clusterInfoKubeconfig(api.server, caPem);
  const data: Record<string, string> = { kubeconfig };
  for (const t of tokens) {
    const [id, secret] = t.split('.') as [string, string];
    data[`jws-kubeconfig-${id}`] = signDetachedJWS(kubeconfig, id, secret);
  }
  return data;
}

describe('join discovery (fake HTTPS API server)', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let api: FakeApi;
  let pin: string;
  const lines: string[] = [];
  const options = (timeoutMs = 5000) => ({ timeoutMs, progress: (m: string) => lines.push(m) });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'join-discovery-'));
    pki = makePki(dir);
    pin = caCertHash(pki.caPem);
    api = await fakeApiServer(pki);
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a good pin: the CA and the server of cluster-info, read twice (second time over verified TLS)', async () => {
    api.data = signed(api, pki.caPem, [TOKEN]);
    const before = api.requests;
    const got = await discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [pin], unsafeSkipCAVerification: false }, options());
    assert.equal(got.server, api.server);
    assert.equal(got.caPem, pki.caPem);
    assert.equal(api.requests - before, 2);
  });

  it('a bare-hex pin among others matches too', async () => {
    api.data = signed(api, pki.caPem, [TOKEN]);
    const other = `sha256:${'0'.repeat(64)}`;
    const got = await discoverWithToken(
      { endpoint: api.endpoint, token: TOKEN, caCertHashes: [other, pin.slice(7)], unsafeSkipCAVerification: false },
      options(),
    );
    assert.equal(got.caPem, pki.caPem);
  });

  it('a wrong pin: one error naming the expected and the found hash', async () => {
    api.data = signed(api, pki.caPem, [TOKEN]);
    const wrong = `sha256:${'a'.repeat(64)}`;
    await assert.rejects(
      discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [wrong], unsafeSkipCAVerification: false }, options()),
      (err: unknown) => {
        assert.ok(err instanceof DiscoveryError);
        const line = err.oneLine();
        assert.ok(line.includes(wrong) && line.includes(pin), line);
        assert.ok(!line.includes('\n'));
        return true;
      },
    );
  });

  it('a token whose secret does not verify the JWS is refused at once', async () => {
    api.data = signed(api, pki.caPem, ['abcdef.ffffffffffffffff']);
    const before = api.requests;
    await assert.rejects(
      discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [pin], unsafeSkipCAVerification: false }, options()),
      /failed to verify JWS signature/,
    );
    assert.equal(api.requests - before, 1, 'no retry');
  });

  it('an unknown or expired token (no signature for its id) retries with progress, then says so', async () => {
    api.data = signed(api, pki.caPem, [OTHER]);
    lines.length = 0;
    await assert.rejects(
      discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [pin], unsafeSkipCAVerification: false }, options(1200)),
      (err: unknown) => err instanceof DiscoveryError && /could not find a JWS signature.*token ID "abcdef".*unknown or expired.*gave up/.test(err.message),
    );
    assert.ok(lines.some((l) => l.includes('retrying')));
  });

  it('a cluster-info without any signature says the signer is missing', async () => {
    api.data = { kubeconfig: clusterInfoKubeconfig(api.server, pki.caPem) };
    await assert.rejects(
      discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [pin], unsafeSkipCAVerification: false }, options(600)),
      /no JWS signature at all.*bootstrapsigner/,
    );
  });

  it('an unreachable endpoint retries with progress lines and stops at the discovery timeout', async () => {
    lines.length = 0;
    await assert.rejects(
      discoverWithToken({ endpoint: '127.0.0.1:1', token: TOKEN, caCertHashes: [pin], unsafeSkipCAVerification: false }, options(1500)),
      (err: unknown) => err instanceof DiscoveryError && /ECONNREFUSED.*gave up after/.test(err.message) && err.field === 'timeouts.discovery',
    );
    assert.ok(lines.filter((l) => l.includes('retrying')).length >= 2, lines.join('\n'));
  });

  it('unsafe skip without pins: the signed cluster-info is used after one read', async () => {
    api.data = signed(api, pki.caPem, [TOKEN]);
    const before = api.requests;
    const got = await discoverWithToken({ endpoint: api.endpoint, token: TOKEN, caCertHashes: [], unsafeSkipCAVerification: true }, options());
    assert.equal(got.caPem, pki.caPem);
    assert.equal(api.requests - before, 1);
  });

  it('file discovery: a cluster-only kubeconfig is proven by a TLS read of cluster-info', async () => {
    api.data = signed(api, pki.caPem, [TOKEN]);
    const file = path.join(dir, 'discovery.conf');
    writeFileSync(file, clusterInfoKubeconfig(api.server, pki.caPem));
    const got = await discoverFromFile(file, options());
    assert.equal(got.server, api.server);
    assert.equal(got.credentials, undefined);
  });

  it('file discovery: a CA that does not match the server fails after the timeout', async () => {
    const other = makePki(mkdtempSync(path.join(dir, 'other-')));
    const file = path.join(dir, 'wrong-ca.conf');
    writeFileSync(file, clusterInfoKubeconfig(api.server, other.caPem));
    await assert.rejects(discoverFromFile(file, options(500)), /gave up/);
  });
});
