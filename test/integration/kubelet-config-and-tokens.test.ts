/**
 * On a real etcd + kube-apiserver: the kubelet-config ConfigMap upload-config writes (a user's
 * KubeletConfiguration field kept and the ConfigMap unsigned, kubeadm's defaults signed with the
 * component-config hash), checked against what the real kubeadm of the suite's version uploads for the
 * same configuration (`init phase upload-config kubelet --dry-run`, which also shows its hash rule);
 * then `kubestrap token` create → list → the Secret → delete, next to the real `kubeadm token`
 * against the same API server (the same Secret fields, the same list output byte for byte, the same
 * join command but for the program name).
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { COMPONENT_CONFIG_HASH_ANNOTATION, componentConfigHash } from '../../src/config/componentconfig/hash.js';
import { kubeProxyComponentConfig } from '../../src/config/componentconfig/kube-proxy.js';
import { kubeletComponentConfig } from '../../src/config/componentconfig/kubelet.js';
import { initDefaultsYaml } from '../../src/config/print.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import { memoryPrinter } from '../../src/output.js';
import { InitData } from '../../src/phases/init/data.js';
import { uploadConfigPhase } from '../../src/phases/init/upload-config.js';
import { Runner } from '../../src/phases/runner.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { components, componentsReady } from '../support/components.js';
import { testConfig } from '../support/config-fixture.js';

const exec = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAUNCH = `import { main } from ${JSON.stringify(path.join(repo, 'src/cli.ts'))};
process.exitCode = await main(['node', 'kubestrap', ...process.argv.slice(1)]);`;
const SYSTEMD = { systemd: true, systemdResolved: false };

async function kubestrap(...args: string[]): Promise<string> {
  return (await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LAUNCH, ...args], { cwd: repo, timeout: 60_000 })).stdout;
}

async function kubeadm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return (await exec(components().binaries.kubeadm.path, args, { timeout: 60_000, env: { ...process.env, ...env }, maxBuffer: 8 << 20 })).stdout;
}

/** A document without Go's zero values (what kubeadm marshals from unset fields), for comparing meaning. */
function meaningful(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(meaningful) : undefined;
  if (typeof v === 'object' && v !== null) {
    const out = Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (meaningful(x) === undefined ? [] : [[k, meaningful(x)]])));
    return Object.keys(out).length ? out : undefined;
  }
  return v === '' || v === 0 || v === '0' || v === '0s' || v === false || v === null ? undefined : v;
}

/** The ConfigMap of `kubeadm init phase upload-config kubelet --dry-run` (the first attached object). */
function dryRunConfigMap(output: string): V1ConfigMap {
  const start = output.indexOf('[dryrun] Attached object:\n') + '[dryrun] Attached object:\n'.length;
  return parse(output.slice(start, output.indexOf('\n\n', start))) as V1ConfigMap;
}

const secretData = (s: V1Secret): Record<string, string> =>
  Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

describe('config print init-defaults --component-configs', { skip: !componentsReady() && 'components not prepared' }, () => {
  it("prints kubeadm's component config defaults, apart from Go's zero values", async () => {
    const kinds = ['KubeletConfiguration', 'KubeProxyConfiguration'];
    const docs = (text: string): unknown[] => parseAllDocuments(text).map((d) => meaningful(d.toJS()));
    const theirs = docs(await kubeadm(['config', 'print', 'init-defaults', '--component-configs', kinds.join(',')]));
    const ours = docs(initDefaultsYaml(kinds));
    assert.equal(ours.length, 4);
    assert.deepEqual(ours.slice(2), theirs.slice(2));
  });
});

describe('kubelet-config and bootstrap tokens on a real API server', { skip: !componentsReady() && 'components not prepared' }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let dir: string;
  const adminConf = (): string => cp.host.path(cp.kubeconfig('admin'));

  /** upload-config with `config`; returns the kubelet-config ConfigMap and the printed lines. */
  async function upload(config: ResolvedConfig): Promise<{ cm: V1ConfigMap; lines: string[] }> {
    const out = memoryPrinter();
    await new Runner([uploadConfigPhase]).run(new InitData({ config, host: cp.host, out, dryRun: false, uploadCerts: false }));
    admin ??= await kubeClient(cp.kubeconfig('admin'), cp.host);
    return { cm: await admin.core.readNamespacedConfigMap({ name: 'kubelet-config', namespace: 'kube-system' }), lines: out.lines };
  }

  /** An init config file both CLIs read: service range, DNS domain and certificatesDir that show in the kubelet's document. */
  async function configFile(name: string, kubeletDoc: string, networking = ''): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(
      file,
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: cp1\nlocalAPIEndpoint:\n  advertiseAddress: 198.18.0.1\n---\n' +
        `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: ${cp.config.cluster.kubernetesVersion}\n` +
        `certificatesDir: ${cp.host.path('/etc/kubernetes/pki')}\nnetworking:\n  serviceSubnet: 10.100.0.0/16\n  dnsDomain: lab.local\n${networking}${kubeletDoc}`,
    );
    return file;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-compcfg-'));
    cp = await startControlPlane({ run: ['etcd', 'kube-apiserver'] });
    // the first upload also makes admin.conf a cluster admin (kubeadm:cluster-admins), which `token` relies on
    await upload(cp.config);
  });

  after(async () => {
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("uploads the user's KubeletConfiguration over kubeadm's defaults, unsigned as kubeadm leaves it", async () => {
    const config: ResolvedConfig = {
      ...cp.config,
      componentConfigs: { kubelet: { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', maxPods: 42 } },
    };
    const { cm, lines } = await upload(config);
    const doc = parse(cm.data!.kubelet!) as Record<string, unknown>;
    assert.equal(doc.maxPods, 42);
    assert.deepEqual(doc.clusterDNS, [cp.config.dnsServiceIP]);
    assert.equal(cm.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION], undefined);
    const systemd = existsSync('/run/systemd/system');
    assert.equal(doc.cgroupDriver, systemd ? 'systemd' : 'cgroupfs');
    assert.equal(
      lines.some((l) => l.startsWith('[kubelet] WARNING: this host does not run systemd as PID 1')),
      !systemd,
      lines.join('\n'),
    );
  });

  it('signs the generated one with the sha256 of its data, as kubeadm computes it', async () => {
    const { cm } = await upload(cp.config);
    const expected = `sha256:${createHash('sha256').update(cm.data!.kubelet!).digest('hex')}`;
    assert.equal(cm.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION], expected);
    assert.equal(componentConfigHash(cm.data!), expected);
  });

  for (const c of [
    { name: 'defaults', kubeletDoc: '' },
    {
      name: 'a user document',
      kubeletDoc:
        '---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nmaxPods: 42\nclusterDNS: [10.100.0.53]\nauthentication:\n  webhook:\n    cacheTTL: 30s\n',
    },
  ]) {
    it(`uploads what kubeadm uploads, apart from Go's zero values (${c.name})`, async () => {
      const file = await configFile(`${c.name.replace(/ /g, '-')}.yaml`, c.kubeletDoc);
      const env = { KUBEADM_INIT_DRYRUN_DIR: cp.host.path('/etc/kubernetes') };
      const theirs = dryRunConfigMap(await kubeadm(['init', 'phase', 'upload-config', 'kubelet', '--dry-run', '--config', file], env));
      const ours = kubeletComponentConfig(testConfig({ config: file }), SYSTEMD);
      assert.deepEqual(meaningful(ours), meaningful(parse(theirs.data!.kubelet!)));
      const hash = theirs.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION];
      if (c.kubeletDoc) assert.equal(hash, undefined, 'kubeadm does not sign a user-supplied KubeletConfiguration');
      else assert.equal(hash, componentConfigHash(theirs.data!), "our hash of kubeadm's data is kubeadm's annotation");
    });
  }

  for (const c of [
    { name: 'defaults', doc: '' },
    {
      name: 'a user document',
      doc: '---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\nclientConnection:\n  qps: 50\n',
    },
  ]) {
    it(`has the KubeProxyConfiguration kubeadm's kube-proxy addon has, apart from Go's zero values (${c.name})`, async () => {
      const file = await configFile(`proxy-${c.name.replace(/ /g, '-')}.yaml`, c.doc, '  podSubnet: 10.244.0.0/16\n');
      const env = { KUBEADM_INIT_DRYRUN_DIR: cp.host.path('/etc/kubernetes') };
      const theirs = dryRunConfigMap(await kubeadm(['init', 'phase', 'addon', 'kube-proxy', '--dry-run', '--config', file], env));
      assert.deepEqual(meaningful(kubeProxyComponentConfig(testConfig({ config: file }))), meaningful(parse(theirs.data!['config.conf']!)));
      const hash = theirs.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION];
      // two data keys (config.conf, kubeconfig.conf): the hash runs over them in key order
      assert.equal(hash, c.doc ? undefined : componentConfigHash(theirs.data!));
    });
  }

  it('token create → list → the Secret has kubeadm fields → delete', async () => {
    const rootfs = ['--rootfs', cp.rootfs];
    const token = 'kstrap.0123456789abcdef';
    assert.equal(await kubestrap('token', 'create', token, '--ttl', '2h', '--description', 'compcfg test', ...rootfs), `${token}\n`);
    // the same request through kubeadm, for the Secret it writes
    const theirs = 'kadmtk.0123456789abcdef';
    await kubeadm(['token', 'create', theirs, '--ttl', '2h', '--description', 'compcfg test', '--kubeconfig', adminConf()]);

    const ourSecret = await admin.core.readNamespacedSecret({ name: 'bootstrap-token-kstrap', namespace: 'kube-system' });
    const theirSecret = await admin.core.readNamespacedSecret({ name: 'bootstrap-token-kadmtk', namespace: 'kube-system' });
    assert.equal(ourSecret.type, 'bootstrap.kubernetes.io/token');
    const [o, t] = [secretData(ourSecret), secretData(theirSecret)];
    const fixed = (d: Record<string, string>): Record<string, string> => ({ ...d, 'token-id': '', expiration: '' });
    assert.deepEqual(fixed(o), fixed(t));
    assert.ok(Math.abs(Date.parse(o.expiration!) - Date.parse(t.expiration!)) < 60_000, `${o.expiration} vs ${t.expiration}`);

    // byte for byte the same listing (within the same second the TTL column agrees; retry once across a boundary)
    let same = false;
    for (let i = 0; i < 2 && !same; i++) {
      const [ourList, theirList] = await Promise.all([kubestrap('token', 'list', ...rootfs), kubeadm(['token', 'list', '--kubeconfig', adminConf()])]);
      same = ourList === theirList;
      if (i === 1) assert.equal(ourList, theirList);
    }
    assert.match(
      await kubestrap('token', 'list', ...rootfs),
      /^kstrap\.0123456789abcdef +1h +\S+ +authentication,signing +compcfg test +system:bootstrappers:kubeadm:default-node-token$/m,
    );

    const ourJoin = await kubestrap('token', 'create', '--print-join-command', ...rootfs);
    const theirJoin = await kubeadm(['token', 'create', '--print-join-command', '--kubeconfig', adminConf()]);
    const shape = (s: string): string =>
      s
        .trim()
        .replace(/--token \S+/, '--token T')
        .replace(/^\S+ join/, 'join');
    assert.equal(shape(ourJoin), shape(theirJoin));
    assert.match(ourJoin, /^kubestrap join 127\.0\.0\.1:\d+ --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}\n$/);

    const key = 'ab'.repeat(32);
    const ourCp = await kubestrap('token', 'create', '--print-join-command', '--certificate-key', key, ...rootfs);
    const theirCp = await kubeadm(['token', 'create', '--print-join-command', '--certificate-key', key, '--kubeconfig', adminConf()]);
    assert.equal(shape(ourCp), shape(theirCp));
    assert.ok(ourCp.endsWith(` --control-plane --certificate-key ${key}\n`), ourCp);

    assert.equal(await kubestrap('token', 'delete', token, 'kadmtk', ...rootfs), 'bootstrap token "kstrap" deleted\nbootstrap token "kadmtk" deleted\n');
    const left = await admin.core.listNamespacedSecret({ namespace: 'kube-system', fieldSelector: 'type=bootstrap.kubernetes.io/token' });
    assert.deepEqual(
      left.items.map((s) => s.metadata?.name).filter((n) => n === 'bootstrap-token-kstrap' || n === 'bootstrap-token-kadmtk'),
      [],
    );
  });
});
