/**
 * The full PKI as `init phase certs` writes it, checked with the real openssl CLI: chains, EKU, key
 * usage, SANs, subjects, validity, key types, PEM flavours, file and directory modes; then reuse,
 * external CA, mismatched files, a lone leaf phase, dry run and external etcd.
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EncryptionAlgorithm, ResolvedConfig } from '../../src/config/types.js';
import { KubestrapError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { InitData } from '../../src/phases/init/data.js';
import { certsPhase } from '../../src/phases/init/certs.js';
import { kubeconfigPhase } from '../../src/phases/init/kubeconfig.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { CERT_SPECS } from '../../src/pki/specs.js';
import { testConfig } from '../support/config-fixture.js';

const NODE_IP = '192.168.56.10';
const DAY = 24 * 3600 * 1000;

function config(alg: EncryptionAlgorithm = 'ECDSA-P256', flags: Parameters<typeof testConfig>[0] = {}): ResolvedConfig {
  const base = testConfig({
    apiserverAdvertiseAddress: NODE_IP,
    controlPlaneEndpoint: 'cp.example.com:6443',
    apiserverCertExtraSans: '10.1.2.3,extra.example.com',
    ...flags,
  });
  return { ...base, cluster: { ...base.cluster, encryptionAlgorithm: alg } };
}

async function run(rootfs: string, cfg: ResolvedConfig, opts: { only?: string; dryRun?: boolean } = {}) {
  const out = memoryPrinter();
  const host = new Host(rootfs, { dryRun: opts.dryRun });
  const ctx = new InitData({ config: cfg, host, out, dryRun: opts.dryRun ?? false, uploadCerts: false });
  await new Runner([certsPhase, kubeconfigPhase]).run(ctx, { only: opts.only });
  return { lines: out.lines, host };
}

/** Runs and expects a KubestrapError; returns its one-line form. */
async function runFails(rootfs: string, cfg: ResolvedConfig, opts: { only?: string } = {}): Promise<string> {
  try {
    await run(rootfs, cfg, opts);
  } catch (err) {
    assert.ok(err instanceof KubestrapError, `expected a user error, got ${String(err)}`);
    return err.oneLine();
  }
  assert.fail('expected the run to fail');
}

const ossl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const tmpRoots: string[] = [];
function tmpRoot(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubestrap-pki-'));
  tmpRoots.push(dir);
  return dir;
}
after(() => tmpRoots.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every file under a dir with its mode and content, for "nothing changed" checks. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(entry.parentPath, entry.name);
    const st = statSync(p);
    out.set(p, `${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${entry.isFile() ? readFileSync(p, 'base64') : 'dir'}`);
  }
  return out;
}

interface Expect {
  subject: string;
  ca: string;
  eku: string[];
  dns?: string[];
  ips?: string[];
}

/** What kubeadm ≥1.29 puts in each certificate for the test config (node cp1, NODE_IP). */
const EXPECTED: Record<string, Expect> = {
  ca: { subject: 'CN = kubernetes', ca: 'ca', eku: [], dns: ['kubernetes'] },
  apiserver: {
    subject: 'CN = kube-apiserver',
    ca: 'ca',
    eku: ['TLS Web Server Authentication'],
    dns: ['cp.example.com', 'cp1', 'extra.example.com', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ips: ['10.96.0.1', NODE_IP, '10.1.2.3'],
  },
  // kubeadm ≥ v1.36: no organization; RBAC binds the CN (v1.35: see the per-minor test below).
  'apiserver-kubelet-client': { subject: 'CN = kube-apiserver-kubelet-client', ca: 'ca', eku: ['TLS Web Client Authentication'] },
  'front-proxy-ca': { subject: 'CN = front-proxy-ca', ca: 'front-proxy-ca', eku: [], dns: ['front-proxy-ca'] },
  'front-proxy-client': { subject: 'CN = front-proxy-client', ca: 'front-proxy-ca', eku: ['TLS Web Client Authentication'] },
  'etcd/ca': { subject: 'CN = etcd-ca', ca: 'etcd/ca', eku: [], dns: ['etcd-ca'] },
  'etcd/server': {
    subject: 'CN = cp1',
    ca: 'etcd/ca',
    eku: ['TLS Web Server Authentication', 'TLS Web Client Authentication'],
    dns: ['cp1', 'localhost'],
    ips: [NODE_IP, '127.0.0.1', '0:0:0:0:0:0:0:1'],
  },
  'etcd/peer': {
    subject: 'CN = cp1',
    ca: 'etcd/ca',
    eku: ['TLS Web Server Authentication', 'TLS Web Client Authentication'],
    dns: ['cp1', 'localhost'],
    ips: [NODE_IP, '127.0.0.1', '0:0:0:0:0:0:0:1'],
  },
  'etcd/healthcheck-client': { subject: 'CN = kube-etcd-healthcheck-client', ca: 'etcd/ca', eku: ['TLS Web Client Authentication'] },
  'apiserver-etcd-client': { subject: 'CN = kube-apiserver-etcd-client', ca: 'etcd/ca', eku: ['TLS Web Client Authentication'] },
};

function extension(text: string, name: string): string | undefined {
  const m = new RegExp(`X509v3 ${name}:( critical)? *\\n\\s+(.*)\\n`).exec(text);
  return m ? `${m[1] ? 'critical ' : ''}${m[2]!.trim()}` : undefined;
}

function checkPki(rootfs: string, alg: EncryptionAlgorithm, startedAt: number): void {
  const pki = path.join(rootfs, 'etc/kubernetes/pki');
  const keyHeader = alg.startsWith('RSA') ? '-----BEGIN RSA PRIVATE KEY-----' : '-----BEGIN EC PRIVATE KEY-----';
  for (const [base, want] of Object.entries(EXPECTED)) {
    const crt = path.join(pki, `${base}.crt`);
    const key = path.join(pki, `${base}.key`);
    const isCA = want.eku.length === 0;
    const ctx = `${alg} ${base}`;
    assert.equal(ossl('verify', '-CAfile', path.join(pki, `${want.ca}.crt`), crt).trim(), `${crt}: OK`, ctx);
    const text = ossl('x509', '-in', crt, '-noout', '-text', '-nameopt', 'oneline');
    assert.match(text, new RegExp(`Subject: ${want.subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), ctx);
    assert.equal(
      extension(text, 'Key Usage'),
      isCA ? 'critical Digital Signature, Key Encipherment, Certificate Sign' : 'critical Digital Signature, Key Encipherment',
      ctx,
    );
    assert.equal(extension(text, 'Basic Constraints'), isCA ? 'critical CA:TRUE' : 'critical CA:FALSE', ctx);
    assert.equal(extension(text, 'Extended Key Usage'), want.eku.length ? want.eku.join(', ') : undefined, ctx);
    const sans = [...(want.dns ?? []).map((d) => `DNS:${d}`), ...(want.ips ?? []).map((ip) => `IP Address:${ip}`)];
    assert.equal(extension(text, 'Subject Alternative Name'), sans.length ? sans.join(', ') : undefined, ctx);
    // Go adds SubjectKeyId to CAs and AuthorityKeyId (the CA's SKI) to leaves.
    if (isCA) {
      assert.ok(extension(text, 'Subject Key Identifier'), ctx);
      assert.equal(extension(text, 'Authority Key Identifier'), undefined, ctx);
    } else {
      const caText = ossl('x509', '-in', path.join(pki, `${want.ca}.crt`), '-noout', '-text');
      assert.equal(extension(text, 'Authority Key Identifier'), extension(caText, 'Subject Key Identifier'), ctx);
      assert.equal(extension(text, 'Subject Key Identifier'), undefined, ctx);
    }
    const sigAlg = {
      'RSA-2048': 'sha256WithRSAEncryption',
      'RSA-3072': 'sha256WithRSAEncryption',
      'RSA-4096': 'sha256WithRSAEncryption',
      'ECDSA-P256': 'ecdsa-with-SHA256',
      'ECDSA-P384': 'ecdsa-with-SHA384',
    }[alg];
    assert.match(text, new RegExp(`Signature Algorithm: ${sigAlg}\\n`), ctx);
    const serial = BigInt(`0x${ossl('x509', '-in', crt, '-noout', '-serial').trim().split('=')[1]}`);
    assert.ok(serial >= 1n && serial < (1n << 63n) - 1n, `${ctx} serial ${serial}`);
    // Validity: NotBefore = start - 5 min, NotAfter = start + 1y (leaf) / 10y (CA).
    const dates = ossl('x509', '-in', crt, '-noout', '-startdate', '-enddate');
    const notBefore = Date.parse(/notBefore=(.*)/.exec(dates)![1]!);
    const notAfter = Date.parse(/notAfter=(.*)/.exec(dates)![1]!);
    assert.ok(Math.abs(notBefore - (startedAt - 5 * 60 * 1000)) < 60_000, `${ctx} notBefore ${new Date(notBefore).toISOString()}`);
    assert.equal(notAfter - notBefore, (isCA ? 3650 : 365) * DAY + 5 * 60 * 1000, ctx);
    // Key: PEM flavour, algorithm and size, and it is the certificate's key.
    assert.equal(readFileSync(key, 'utf8').split('\n')[0], keyHeader, ctx);
    assert.equal(readFileSync(crt, 'utf8').split('\n')[0], '-----BEGIN CERTIFICATE-----', ctx);
    checkKeyType(key, alg, ctx);
    assert.equal(ossl('x509', '-in', crt, '-noout', '-pubkey'), ossl('pkey', '-in', key, '-pubout'), `${ctx}: key matches cert`);
    assert.equal(statSync(crt).mode & 0o777, 0o644, `${ctx} crt mode`);
    assert.equal(statSync(key).mode & 0o777, 0o600, `${ctx} key mode`);
  }
  const saKey = path.join(pki, 'sa.key');
  const saPub = path.join(pki, 'sa.pub');
  assert.equal(readFileSync(saKey, 'utf8').split('\n')[0], keyHeader);
  assert.equal(readFileSync(saPub, 'utf8').split('\n')[0], '-----BEGIN PUBLIC KEY-----');
  checkKeyType(saKey, alg, 'sa.key');
  assert.equal(ossl('pkey', '-in', saKey, '-pubout'), readFileSync(saPub, 'utf8'), 'sa.pub is the public half of sa.key');
  assert.equal(statSync(saKey).mode & 0o777, 0o600);
  assert.equal(statSync(saPub).mode & 0o777, 0o600);
  assert.equal(statSync(pki).mode & 0o777, 0o755);
  assert.equal(statSync(path.join(pki, 'etcd')).mode & 0o777, 0o755);
}

function checkKeyType(keyFile: string, alg: EncryptionAlgorithm, ctx: string): void {
  const text = ossl('pkey', '-in', keyFile, '-noout', '-text');
  const want = {
    'RSA-2048': /Private-Key: \(2048 bit, 2 primes\)/,
    'RSA-3072': /Private-Key: \(3072 bit, 2 primes\)/,
    'RSA-4096': /Private-Key: \(4096 bit, 2 primes\)/,
    'ECDSA-P256': /ASN1 OID: prime256v1/,
    'ECDSA-P384': /ASN1 OID: secp384r1/,
  }[alg];
  assert.match(text, want, `${ctx} key type`);
}

describe('pki: generated certificates (checked with openssl)', () => {
  for (const alg of ['RSA-2048', 'ECDSA-P256', 'ECDSA-P384'] as const) {
    it(`${alg}: every CA, leaf and sa key is what kubeadm writes`, async () => {
      const rootfs = tmpRoot();
      const startedAt = Date.now();
      const { lines } = await run(rootfs, config(alg));
      checkPki(rootfs, alg, startedAt);
      assert.ok(lines.includes(`[certs] Using certificateDir folder "${path.join(rootfs, 'etc/kubernetes/pki')}"`));
      assert.ok(lines.includes('[certs] Generating "ca" certificate and key'));
      assert.ok(lines.includes('[certs] Generating "etcd/healthcheck-client" certificate and key'));
      assert.ok(lines.includes('[certs] Generating "sa" key and public key'));
      assert.ok(
        lines.includes(
          `[certs] apiserver serving cert is signed for DNS names [cp.example.com cp1 extra.example.com kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [10.96.0.1 ${NODE_IP} 10.1.2.3]`,
        ),
        lines.join('\n'),
      );
      assert.ok(lines.includes(`[certs] etcd/server serving cert is signed for DNS names [cp1 localhost] and IPs [${NODE_IP} 127.0.0.1 ::1]`));
    });
  }
});

describe('pki: existing files', () => {
  let fixture: string;
  before(async () => {
    fixture = tmpRoot();
    await run(fixture, config());
  });
  const copy = (): string => {
    const dir = tmpRoot();
    cpSync(fixture, dir, { recursive: true });
    return dir;
  };

  it('a second run reuses everything and changes nothing', async () => {
    const rootfs = copy();
    const before = snapshot(rootfs);
    const { lines } = await run(rootfs, config());
    assert.deepEqual(snapshot(rootfs), before);
    assert.ok(lines.includes('[certs] Using existing ca certificate authority'));
    assert.ok(lines.includes('[certs] Using existing etcd/ca certificate authority'));
    assert.ok(lines.includes('[certs] Using existing apiserver certificate and key on disk'));
    assert.ok(lines.includes('[certs] Using existing etcd/peer certificate and key on disk'));
    assert.ok(lines.includes('[certs] Using the existing "sa" key'));
    assert.ok(lines.includes(`[kubeconfig] Using existing kubeconfig file: "${path.join(rootfs, 'etc/kubernetes/admin.conf')}"`));
    assert.ok(!lines.some((l) => l.includes('Generating') || l.includes('Writing')), lines.join('\n'));
  });

  it('a missing leaf is signed by the existing CA', async () => {
    const rootfs = copy();
    const pki = path.join(rootfs, 'etc/kubernetes/pki');
    const caBefore = readFileSync(path.join(pki, 'ca.crt'), 'utf8');
    unlinkSync(path.join(pki, 'apiserver.crt'));
    unlinkSync(path.join(pki, 'apiserver.key'));
    const { lines } = await run(rootfs, config());
    assert.ok(lines.includes('[certs] Generating "apiserver" certificate and key'));
    assert.equal(readFileSync(path.join(pki, 'ca.crt'), 'utf8'), caBefore);
    assert.match(ossl('verify', '-CAfile', path.join(pki, 'ca.crt'), path.join(pki, 'apiserver.crt')), /OK/);
  });

  it('a key that does not match its certificate is an error naming the key, and nothing is written', async () => {
    const rootfs = copy();
    const pki = path.join(rootfs, 'etc/kubernetes/pki');
    writeFileSync(path.join(pki, 'apiserver.key'), readFileSync(path.join(pki, 'front-proxy-client.key')));
    unlinkSync(path.join(rootfs, 'etc/kubernetes/admin.conf'));
    const before = snapshot(rootfs);
    const msg = await runFails(rootfs, config());
    assert.match(msg, new RegExp(`^${path.join(pki, 'apiserver.key')}: the private key does not match the certificate .*apiserver\\.crt`));
    assert.deepEqual(snapshot(rootfs), before, 'nothing written (admin.conf not regenerated)');
  });

  it('a certificate not signed by its CA is an error naming it', async () => {
    const rootfs = copy();
    const other = tmpRoot();
    await run(other, config(), { only: 'certs/front-proxy-ca' });
    for (const ext of ['crt', 'key']) {
      cpSync(path.join(other, `etc/kubernetes/pki/front-proxy-ca.${ext}`), path.join(rootfs, `etc/kubernetes/pki/front-proxy-ca.${ext}`));
    }
    const msg = await runFails(rootfs, config());
    assert.match(msg, /front-proxy-client\.crt: certificate front-proxy-client is not signed by CA certificate front-proxy-ca/);
  });

  it('a certificate lacking a required SAN is an error naming it', async () => {
    const rootfs = copy();
    const msg = await runFails(rootfs, config('ECDSA-P256', { apiserverCertExtraSans: '10.1.2.3,extra.example.com,10.9.9.9' }));
    assert.match(msg, /apiserver\.crt: certificate apiserver lacks required SANs IP:10\.9\.9\.9/);
  });

  it('external CA (ca.crt without ca.key): existing leaves and kubeconfigs are used', async () => {
    const rootfs = copy();
    unlinkSync(path.join(rootfs, 'etc/kubernetes/pki/ca.key'));
    const before = snapshot(rootfs);
    const { lines } = await run(rootfs, config());
    assert.deepEqual(snapshot(rootfs), before);
    assert.ok(lines.includes('[certs] Using existing ca keyless certificate authority'), lines.join('\n'));
    assert.ok(lines.includes('[certs] Using existing apiserver certificate and key on disk'));
    assert.ok(lines.includes('[kubeconfig] External CA mode: Using user provided admin.conf'));
    assert.ok(lines.includes('[certs] Using existing sa keys'));
  });

  it('external CA: a missing leaf or kubeconfig is an error naming it', async () => {
    const rootfs = copy();
    const pki = path.join(rootfs, 'etc/kubernetes/pki');
    unlinkSync(path.join(pki, 'ca.key'));
    unlinkSync(path.join(pki, 'apiserver-kubelet-client.crt'));
    unlinkSync(path.join(pki, 'apiserver-kubelet-client.key'));
    assert.match(
      await runFails(rootfs, config()),
      new RegExp(`^${path.join(pki, 'apiserver-kubelet-client.crt')}: the ca CA has no key \\(external CA mode\\)`),
    );
    const rootfs2 = copy();
    unlinkSync(path.join(rootfs2, 'etc/kubernetes/pki/ca.key'));
    unlinkSync(path.join(rootfs2, 'etc/kubernetes/scheduler.conf'));
    assert.match(await runFails(rootfs2, config()), new RegExp(`^${path.join(rootfs2, 'etc/kubernetes/scheduler.conf')}: is missing; with an external CA`));
  });
});

describe('pki: single phases, dry run, external etcd', () => {
  it('"init phase certs apiserver" without a CA fails clearly', async () => {
    const rootfs = tmpRoot();
    const msg = await runFails(rootfs, config(), { only: 'certs/apiserver' });
    assert.match(msg, /couldn't load CA certificate ca: .*ca\.crt does not exist/);
    assert.match(msg, /run "kubestrap init phase certs ca" first/);
    assert.deepEqual(readdirSync(rootfs), []);
  });

  it('"init phase certs ca" then "init phase certs apiserver" work one by one', async () => {
    const rootfs = tmpRoot();
    await run(rootfs, config(), { only: 'certs/ca' });
    const { lines } = await run(rootfs, config(), { only: 'certs/apiserver' });
    assert.deepEqual(
      lines.filter((l) => l.startsWith('[certs] Generating')),
      ['[certs] Generating "apiserver" certificate and key'],
    );
    const pki = path.join(rootfs, 'etc/kubernetes/pki');
    assert.match(ossl('verify', '-CAfile', path.join(pki, 'ca.crt'), path.join(pki, 'apiserver.crt')), /OK/);
    assert.deepEqual(readdirSync(pki).sort(), ['apiserver.crt', 'apiserver.key', 'ca.crt', 'ca.key']);
  });

  it('dry run writes nothing but plans every file, kubeconfigs signed by the in-memory CA', async () => {
    const rootfs = tmpRoot();
    const { host, lines } = await run(rootfs, config(), { dryRun: true });
    assert.deepEqual(readdirSync(rootfs), []);
    const planned = new Map(host.planned.map((w) => [w.path, w]));
    for (const spec of CERT_SPECS) {
      assert.equal(planned.get(`/etc/kubernetes/pki/${spec.baseName}.crt`)?.mode, 0o644, spec.baseName);
      assert.equal(planned.get(`/etc/kubernetes/pki/${spec.baseName}.key`)?.mode, 0o600, spec.baseName);
    }
    assert.equal(planned.get('/etc/kubernetes/pki/sa.pub')?.mode, 0o600);
    assert.equal(planned.get('/etc/kubernetes/admin.conf')?.mode, 0o600);
    assert.equal(host.planned.length, CERT_SPECS.length * 2 + 2 + 5);
    assert.ok(lines.includes('[kubeconfig] Writing "scheduler.conf" kubeconfig file'));
  });

  it('external etcd: no etcd certificates', async () => {
    const rootfs = tmpRoot();
    const base = config();
    const cfg: ResolvedConfig = {
      ...base,
      cluster: { ...base.cluster, etcd: { external: { endpoints: ['https://10.0.0.9:2379'], caFile: '', certFile: '', keyFile: '' } } },
    };
    const { lines } = await run(rootfs, cfg, { only: 'certs' });
    const pki = path.join(rootfs, 'etc/kubernetes/pki');
    assert.deepEqual(readdirSync(pki).sort(), [
      'apiserver-kubelet-client.crt',
      'apiserver-kubelet-client.key',
      'apiserver.crt',
      'apiserver.key',
      'ca.crt',
      'ca.key',
      'front-proxy-ca.crt',
      'front-proxy-ca.key',
      'front-proxy-client.crt',
      'front-proxy-client.key',
      'sa.key',
      'sa.pub',
    ]);
    assert.ok(lines.includes('[certs] External etcd mode: Skipping etcd/ca certificate authority generation'));
    assert.ok(lines.includes('[certs] External etcd mode: Skipping apiserver-etcd-client certificate generation'));
  });
});

test("apiserver-kubelet-client's organization follows the minor's kubeadm (certlist.go)", () => {
  const spec = CERT_SPECS.find((c) => c.name === 'apiserver-kubelet-client')!;
  const org = (kubernetesVersion: string) => spec.organization(testConfig({ kubernetesVersion }));
  assert.deepEqual(org('v1.35.4'), ['kubeadm:cluster-admins']);
  assert.deepEqual(org('v1.36.3'), []);
  assert.deepEqual(org('v1.37.2'), []);
});
