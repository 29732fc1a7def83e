/**
 * First proof: `kubestrap init phase` certs, kubeconfig, etcd and control-plane under a temp
 * --rootfs, then the real etcd, kube-apiserver, kube-controller-manager and kube-scheduler started
 * with exactly the command lines of the rendered manifests (paths mapped into the rootfs), and
 * kubectl against the result. Once with the default RSA keys, once with ECDSA-P256.
 * The manifests fix the ports (2379/2380/2381/6443/10257/10259), so the variants run in sequence.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { components, suiteRelease, suiteVersionFlags } from '../support/components.js';
import { buildCli } from '../support/init-e2e.js';
import { waitPortsFree, type Proc } from '../support/proc.js';
import { probeGet, startFromManifest, waitHealthy } from '../support/static-pods.js';

const exec = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NODE = 'first-proof';
const PORTS = [2379, 2380, 2381, 6443, 10257, 10259];
const isRoot = process.getuid?.() === 0;

async function kubestrap(args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(process.execPath, [path.join(repo, 'bin/kubestrap.js'), ...args], { cwd: repo });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`kubestrap ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  const { stdout } = await exec(components().binaries.kubectl.path, ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 });
  return stdout;
}

interface Variant {
  name: string;
  encryptionAlgorithm: 'RSA-2048' | 'ECDSA-P256';
  /** Flags for every `init phase` call (given the rootfs and its config file path). */
  flags(rootfs: string, configFile: string): string[];
}

const VARIANTS: Variant[] = [
  {
    name: 'default (RSA-2048) via flags',
    encryptionAlgorithm: 'RSA-2048',
    flags: (rootfs) => ['--rootfs', rootfs, '--apiserver-advertise-address', '127.0.0.1', '--node-name', NODE, ...suiteVersionFlags()],
  },
  {
    name: 'ECDSA-P256 via --config',
    encryptionAlgorithm: 'ECDSA-P256',
    flags: (rootfs, configFile) => ['--rootfs', rootfs, '--config', configFile],
  },
];

const CONFIG = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 127.0.0.1
nodeRegistration:
  name: ${NODE}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${suiteRelease().version}
encryptionAlgorithm: ECDSA-P256
`;

for (const variant of VARIANTS) {
  test(`first proof: ${variant.name}`, { skip: !isRoot && 'needs root (fixed ports, /var/lib/etcd mode)', timeout: 10 * 60_000 }, async (t) => {
    await buildCli(); // bin/kubestrap.js runs the bundle: build the tree under test
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'first-proof-'));
    const logDir = path.join(rootfs, 'logs');
    const procs: Proc[] = [];
    try {
      const configFile = path.join(rootfs, 'kubeadm.yaml');
      await writeFile(configFile, CONFIG);
      const flags = variant.flags(rootfs, configFile);
      for (const phase of [
        ['certs', 'all'],
        ['kubeconfig', 'all'],
        ['etcd', 'local'],
        ['control-plane', 'all'],
      ]) {
        await kubestrap(['init', 'phase', ...phase, ...flags]);
      }
      const k8s = path.join(rootfs, 'etc/kubernetes');
      const manifests = path.join(k8s, 'manifests');
      const caKey = new X509Certificate(await readFile(path.join(k8s, 'pki/apiserver.crt'))).publicKey;
      assert.equal(caKey.asymmetricKeyType, variant.encryptionAlgorithm === 'RSA-2048' ? 'rsa' : 'ec');

      await waitPortsFree(PORTS, 60_000);
      // kubelet creates hostPath DirectoryOrCreate dirs; etcd wants its data dir private
      await mkdir(path.join(rootfs, 'var/lib/etcd'), { recursive: true, mode: 0o700 });

      const start = async (file: string, timeoutMs: number): Promise<Proc> => {
        const { proc, command } = await startFromManifest(path.join(manifests, file), rootfs, logDir);
        procs.push(proc);
        assert.ok(command.probeUrl, `${file} has an HTTP probe`);
        const t0 = Date.now();
        await waitHealthy(command.probeUrl, proc, timeoutMs);
        t.diagnostic(`${proc.name}: ${command.probeUrl} ok after ${Date.now() - t0} ms`);
        return proc;
      };

      await start('etcd.yaml', 60_000);
      await start('kube-apiserver.yaml', 120_000);

      const superAdmin = path.join(k8s, 'super-admin.conf');
      const admin = path.join(k8s, 'admin.conf');
      await kubectl(superAdmin, ['create', 'clusterrolebinding', 'kubeadm:cluster-admins', '--clusterrole=cluster-admin', '--group=kubeadm:cluster-admins']);
      assert.equal((await kubectl(admin, ['get', '--raw', '/readyz'])).trim(), 'ok');
      const namespaces = await kubectl(admin, ['get', 'namespaces', '-o', 'name']);
      for (const ns of ['default', 'kube-system', 'kube-public']) assert.match(namespaces, new RegExp(`^namespace/${ns}$`, 'm'));
      const version = JSON.parse(await kubectl(admin, ['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
      assert.equal(version.serverVersion.gitVersion, components().kubernetesVersion);

      await start('kube-controller-manager.yaml', 120_000);
      await start('kube-scheduler.yaml', 120_000);
      for (const url of ['https://127.0.0.1:10257/healthz', 'https://127.0.0.1:10259/healthz']) {
        const { status, body } = await probeGet(url);
        assert.deepEqual([status, body.trim()], [200, 'ok'], url);
      }
      t.diagnostic(`namespaces: ${namespaces.trim().split('\n').join(' ')}`);
    } finally {
      for (const proc of procs.reverse()) {
        const status = await proc.stop(15_000);
        t.diagnostic(`${proc.name} stopped (${status.signal ?? status.code})`);
      }
      await rm(rootfs, { recursive: true, force: true });
    }
  });
}
