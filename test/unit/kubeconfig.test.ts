/**
 * The five kubeconfig files as `init phase kubeconfig` writes them: layout, identities (checked with
 * openssl), servers, embedded CA, modes; reuse, wrong CA, changed server; the loader.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ResolvedConfig } from '../../src/config/types.js';
import { KubestrapError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { loadKubeconfig, parseKubeconfig } from '../../src/kubeconfig/load.js';
import { InitData } from '../../src/phases/init/data.js';
import { certsPhase } from '../../src/phases/init/certs.js';
import { kubeconfigPhase } from '../../src/phases/init/kubeconfig.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { testConfig } from '../support/config-fixture.js';

function config(flags: Parameters<typeof testConfig>[0] = {}): ResolvedConfig {
  const base = testConfig({ apiserverAdvertiseAddress: '192.168.56.10', controlPlaneEndpoint: 'cp.example.com:6443', ...flags });
  return { ...base, cluster: { ...base.cluster, encryptionAlgorithm: 'ECDSA-P256' } };
}

async function run(rootfs: string, cfg: ResolvedConfig, only?: string) {
  const out = memoryPrinter();
  const ctx = new InitData({ config: cfg, host: new Host(rootfs), out, dryRun: false, uploadCerts: false });
  await new Runner([certsPhase, kubeconfigPhase]).run(ctx, { only });
  return out.lines;
}

const ossl = (args: string[], input?: string): string => execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });

const roots: string[] = [];
const tmpRoot = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'kubestrap-kc-'));
  roots.push(d);
  return d;
};
after(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

const FILES = [
  { file: 'admin.conf', user: 'kubernetes-admin', subject: 'O = kubeadm:cluster-admins, CN = kubernetes-admin', server: 'https://cp.example.com:6443' },
  {
    file: 'super-admin.conf',
    user: 'kubernetes-super-admin',
    subject: 'O = system:masters, CN = kubernetes-super-admin',
    server: 'https://cp.example.com:6443',
  },
  { file: 'kubelet.conf', user: 'system:node:cp1', subject: 'O = system:nodes, CN = system:node:cp1', server: 'https://192.168.56.10:6443' },
  {
    file: 'controller-manager.conf',
    user: 'system:kube-controller-manager',
    subject: 'CN = system:kube-controller-manager',
    server: 'https://192.168.56.10:6443',
  },
  { file: 'scheduler.conf', user: 'system:kube-scheduler', subject: 'CN = system:kube-scheduler', server: 'https://192.168.56.10:6443' },
];

describe('kubeconfig files', () => {
  let rootfs: string;
  let lines: string[];
  before(async () => {
    rootfs = tmpRoot();
    lines = await run(rootfs, config());
  });

  it('are written as kubeadm writes them, one per identity', async () => {
    const host = new Host(rootfs);
    const caPem = readFileSync(path.join(rootfs, 'etc/kubernetes/pki/ca.crt'), 'utf8');
    for (const want of FILES) {
      const real = path.join(rootfs, 'etc/kubernetes', want.file);
      assert.equal(statSync(real).mode & 0o777, 0o600, want.file);
      assert.ok(lines.includes(`[kubeconfig] Writing "${want.file}" kubeconfig file`), want.file);
      const kc = (await loadKubeconfig(host, `/etc/kubernetes/${want.file}`))!;
      assert.equal(kc.clusterName, 'kubernetes');
      assert.equal(kc.userName, want.user);
      assert.equal(kc.contextName, `${want.user}@kubernetes`);
      assert.equal(kc.server, want.server, want.file);
      assert.equal(kc.caPem, caPem, `${want.file} embeds ca.crt`);
      const certFile = path.join(rootfs, `${want.file}.crt`);
      writeFileSync(certFile, kc.clientCertPem!);
      assert.match(ossl(['verify', '-CAfile', path.join(rootfs, 'etc/kubernetes/pki/ca.crt'), certFile]), /: OK/);
      const text = ossl(['x509', '-in', certFile, '-noout', '-text', '-nameopt', 'oneline']);
      assert.match(text, new RegExp(`Subject: ${want.subject}\\n`), want.file);
      assert.match(text, /X509v3 Extended Key Usage: *\n\s+TLS Web Client Authentication\n/, want.file);
      assert.doesNotMatch(text, /Subject Alternative Name/);
      assert.match(kc.clientKeyPem!, /^-----BEGIN EC PRIVATE KEY-----\n/);
      assert.equal(ossl(['pkey', '-pubout'], kc.clientKeyPem), ossl(['x509', '-noout', '-pubkey', '-in', certFile]), `${want.file} key matches`);
    }
  });

  it("have client-go's layout", () => {
    const text = readFileSync(path.join(rootfs, 'etc/kubernetes/admin.conf'), 'utf8');
    const shape = text.replace(/(-data: )\S+/g, '$1X');
    assert.equal(
      shape,
      [
        'apiVersion: v1',
        'clusters:',
        '- cluster:',
        '    certificate-authority-data: X',
        '    server: https://cp.example.com:6443',
        '  name: kubernetes',
        'contexts:',
        '- context:',
        '    cluster: kubernetes',
        '    user: kubernetes-admin',
        '  name: kubernetes-admin@kubernetes',
        'current-context: kubernetes-admin@kubernetes',
        'kind: Config',
        'users:',
        '- name: kubernetes-admin',
        '  user:',
        '    client-certificate-data: X',
        '    client-key-data: X',
        '',
      ].join('\n'),
    );
  });

  it('are reused when their CA matches; another server URL is only a warning', async () => {
    const copy = tmpRoot();
    cpSync(rootfs, copy, { recursive: true });
    const before = readFileSync(path.join(copy, 'etc/kubernetes/admin.conf'), 'utf8');
    const again = await run(copy, config({ controlPlaneEndpoint: 'lb.example.com:6443' }), 'kubeconfig');
    assert.equal(readFileSync(path.join(copy, 'etc/kubernetes/admin.conf'), 'utf8'), before);
    assert.ok(again.includes(`[kubeconfig] Using existing kubeconfig file: "${path.join(copy, 'etc/kubernetes/admin.conf')}"`));
    assert.ok(
      again.some(
        (l) =>
          l.startsWith('[kubeconfig] WARNING:') &&
          l.includes('unexpected API Server URL: expected: https://lb.example.com:6443, got: https://cp.example.com:6443'),
      ),
      again.join('\n'),
    );
  });

  it('with another CA is an error naming the file', async () => {
    const copy = tmpRoot();
    cpSync(rootfs, copy, { recursive: true });
    const other = tmpRoot();
    await run(other, config(), 'certs/ca');
    await run(other, config(), 'kubeconfig/scheduler');
    cpSync(path.join(other, 'etc/kubernetes/scheduler.conf'), path.join(copy, 'etc/kubernetes/scheduler.conf'));
    await assert.rejects(run(copy, config()), (err: unknown) => {
      assert.ok(err instanceof KubestrapError);
      assert.match(
        err.oneLine(),
        new RegExp(`^${path.join(copy, 'etc/kubernetes/scheduler.conf')}: a kubeconfig file exists already but has got the wrong CA cert`),
      );
      return true;
    });
  });
});

describe('kubeconfig loader', () => {
  it('follows current-context and reads file references through the host', async () => {
    const rootfs = tmpRoot();
    const host = new Host(rootfs);
    await host.writeFile('/var/lib/kubelet/pki/kubelet-client-current.pem', 'CERT-AND-KEY');
    await host.writeFile('/etc/kubernetes/pki/ca.crt', 'CA');
    await host.writeFile(
      '/etc/kubernetes/kubelet.conf',
      [
        'apiVersion: v1',
        'clusters:',
        '- cluster: {certificate-authority: pki/ca.crt, server: "https://10.0.0.1:6443"}',
        '  name: other',
        '- cluster: {certificate-authority-data: ' + Buffer.from('CA2').toString('base64') + ', server: "https://10.0.0.2:6443"}',
        '  name: kubernetes',
        'contexts:',
        '- context: {cluster: kubernetes, user: system:node:cp1}',
        '  name: system:node:cp1@kubernetes',
        'current-context: system:node:cp1@kubernetes',
        'kind: Config',
        'users:',
        '- name: system:node:cp1',
        '  user: {client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem, client-key: /var/lib/kubelet/pki/kubelet-client-current.pem}',
      ].join('\n'),
    );
    const kc = (await loadKubeconfig(host, '/etc/kubernetes/kubelet.conf'))!;
    assert.equal(kc.server, 'https://10.0.0.2:6443');
    assert.equal(kc.caPem, 'CA2');
    assert.equal(kc.clientCertPem, 'CERT-AND-KEY');
    assert.equal(kc.clientKeyPem, 'CERT-AND-KEY');
    assert.equal(await loadKubeconfig(host, '/etc/kubernetes/missing.conf'), undefined);
  });

  it('names the file and field of a broken kubeconfig', async () => {
    await assert.rejects(parseKubeconfig('kind: Config\n', '/x/admin.conf'), /has no current-context/);
    await assert.rejects(
      parseKubeconfig('current-context: a\ncontexts: []\n', '/x/admin.conf'),
      (err: unknown) => err instanceof KubestrapError && err.oneLine() === '/x/admin.conf: contexts: no context named "a" (the file is not a valid kubeconfig)',
    );
  });
});
