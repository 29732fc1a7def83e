/**
 * The addon phase's objects (src/kube/addons) and wiring: kubeadm's names, order, images, the
 * kube-dns IP, priority classes, tolerations, the one deviation (static-pods-only nodes), the
 * kube-proxy ConfigMap and its checksum, the skip/disabled sync, and the dry-run print.
 * test/integration/addons-vs-kubeadm.test.ts compares the same objects with the real kubeadm's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { LABEL_STATIC_PODS_ONLY } from '../../src/agent/index.js';
import { ADDON_PHASE_PATHS } from '../../src/config/addons.js';
import { kubeProxyComponentConfig } from '../../src/config/componentconfig/kube-proxy.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { corednsObjects, corefile } from '../../src/kube/addons/coredns.js';
import { kubeProxyObjects } from '../../src/kube/addons/kube-proxy.js';
import type { KubeObject } from '../../src/kube/apply.js';
import { COMPONENT_CONFIG_HASH_ANNOTATION, componentConfigHash } from '../../src/config/componentconfig/hash.js';
import { Host } from '../../src/host/host.js';
import { memoryPrinter } from '../../src/output.js';
import { InitData } from '../../src/phases/init/data.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { Runner } from '../../src/phases/runner.js';
import { testConfig } from '../support/config-fixture.js';

const placement = { avoidNodeLabel: LABEL_STATIC_PODS_ONLY };
const byKind = <K extends KubeObject['kind']>(objects: KubeObject[], kind: K): Extract<KubeObject, { kind: K }> => {
  const found = objects.find((o) => o.kind === kind);
  assert.ok(found, `no ${kind}`);
  return found as Extract<KubeObject, { kind: K }>;
};
const names = (objects: KubeObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata?.name}`);

const INIT_DOC = 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration: {name: cp1}\nlocalAPIEndpoint: {advertiseAddress: 10.0.0.1}\n';

/** The resolved config of a --config file holding an InitConfiguration for cp1 and `doc`. */
function configWith(doc: string): ResolvedConfig {
  const dir = mkdtempSync(path.join(tmpdir(), 'addons-test-'));
  try {
    const file = path.join(dir, 'kubeadm.yaml');
    writeFileSync(file, `${INIT_DOC}---\n${doc}`);
    return testConfig({ config: file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function dns(config: ResolvedConfig = testConfig(), replicas = 2): KubeObject[] {
  return corednsObjects(config, { ...placement, replicas });
}
function proxy(config: ResolvedConfig = testConfig()): KubeObject[] {
  return kubeProxyObjects(config, { ...placement, componentConfig: kubeProxyComponentConfig(config) });
}

describe('CoreDNS addon objects', () => {
  it("are kubeadm's, in its create order", () => {
    assert.deepEqual(names(dns()), [
      'ConfigMap/coredns',
      'ClusterRole/system:coredns',
      'ClusterRoleBinding/system:coredns',
      'ServiceAccount/coredns',
      'Deployment/coredns',
      'Service/kube-dns',
    ]);
  });

  it('put kube-dns on the tenth IP of the service range, for any range', () => {
    assert.equal(byKind(dns(), 'Service').spec?.clusterIP, '10.96.0.10');
    assert.equal(byKind(dns(testConfig({ serviceCidr: '10.100.0.0/16' })), 'Service').spec?.clusterIP, '10.100.0.10');
  });

  it('run the CoreDNS image of the version table under imageRepository, as system-cluster-critical', () => {
    const d = byKind(dns(testConfig({ imageRepository: 'mirror.local/k8s', kubernetesVersion: 'v1.36.3' }), 3), 'Deployment');
    assert.equal(d.spec?.replicas, 3);
    const pod = d.spec!.template.spec!;
    assert.equal(pod.containers[0]!.image, 'mirror.local/k8s/coredns:v1.14.2');
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.deepEqual(pod.tolerations, [
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    assert.equal(byKind(dns(), 'Deployment').spec!.template.spec!.containers[0]!.image, 'registry.k8s.io/coredns/coredns:v1.14.6');
  });

  it('keep off static-pods-only nodes beside kubeadm’s anti-affinity; without the label exactly kubeadm’s', () => {
    const affinity = byKind(dns(), 'Deployment').spec!.template.spec!.affinity!;
    assert.deepEqual(affinity.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
      { matchExpressions: [{ key: 'node.kubestrap.io/static-pods-only', operator: 'DoesNotExist' }] },
    ]);
    assert.ok(affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length);
    const plain = byKind(corednsObjects(testConfig(), { replicas: 2 }), 'Deployment').spec!.template.spec!.affinity!;
    assert.equal(plain.nodeAffinity, undefined);
  });

  it("carry kubeadm's Corefile for the DNS domain", () => {
    const cm = byKind(dns(testConfig({ serviceDnsDomain: 'lab.example' })), 'ConfigMap');
    assert.equal(cm.data?.Corefile, corefile('lab.example'));
    assert.match(cm.data!.Corefile!, /kubernetes lab\.example in-addr\.arpa ip6\.arpa \{/);
    assert.match(cm.data!.Corefile!, /cache 30 \{\n {7}disable success lab\.example\n {7}disable denial lab\.example\n {4}\}/);
  });
});

describe('kube-proxy addon objects', () => {
  it("are kubeadm's, in its create order", () => {
    assert.deepEqual(names(proxy()), [
      'ConfigMap/kube-proxy',
      'DaemonSet/kube-proxy',
      'ServiceAccount/kube-proxy',
      'ClusterRoleBinding/kubeadm:node-proxier',
      'Role/kube-proxy',
      'RoleBinding/kube-proxy',
    ]);
    const crb = byKind(proxy(), 'ClusterRoleBinding');
    assert.equal(crb.roleRef.name, 'system:node-proxier');
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: 'kube-system' }]);
    assert.deepEqual(byKind(proxy(), 'RoleBinding').subjects, [{ kind: 'Group', name: 'system:bootstrappers:kubeadm:default-node-token' }]);
  });

  it('run kube-proxy of the cluster version, node-critical, on every node but static-pods-only ones', () => {
    const ds = byKind(proxy(testConfig({ imageRepository: 'mirror.local/k8s' })), 'DaemonSet');
    const pod = ds.spec!.template.spec!;
    assert.equal(pod.containers[0]!.image, 'mirror.local/k8s/kube-proxy:v1.37.2');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
    assert.equal(pod.hostNetwork, true);
    assert.deepEqual(pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
      { matchExpressions: [{ key: LABEL_STATIC_PODS_ONLY, operator: 'DoesNotExist' }] },
    ]);
  });

  it('hand the host’s *_proxy variables to the container after NODE_NAME', () => {
    const config = testConfig();
    const objects = kubeProxyObjects(config, { componentConfig: kubeProxyComponentConfig(config), env: [{ name: 'HTTPS_PROXY', value: 'http://p:3128' }] });
    assert.deepEqual(
      byKind(objects, 'DaemonSet').spec!.template.spec!.containers[0]!.env!.map((e) => e.name),
      ['NODE_NAME', 'HTTPS_PROXY'],
    );
  });

  it('store config.conf and kubeconfig.conf, signed with kubeadm’s checksum', () => {
    const config = testConfig({ podNetworkCidr: '10.244.0.0/16', controlPlaneEndpoint: 'lab.example:6443' });
    const cm = byKind(proxy(config), 'ConfigMap');
    assert.deepEqual(cm.metadata?.labels, { app: 'kube-proxy' });
    const conf = parse(cm.data!['config.conf']!) as Record<string, unknown>;
    assert.equal(conf.kind, 'KubeProxyConfiguration');
    assert.equal(conf.clusterCIDR, '10.244.0.0/16');
    assert.equal(conf.mode, 'iptables');
    assert.deepEqual(conf.clientConnection, { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' });
    const kubeconfig = parse(cm.data!['kubeconfig.conf']!) as { clusters: { cluster: { server: string } }[] };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, 'https://lab.example:6443');
    // kubeadm's ChecksumForConfigMap: the values in key order (config.conf < kubeconfig.conf)
    const expected = createHash('sha256').update(cm.data!['config.conf']!).update(cm.data!['kubeconfig.conf']!).digest('hex');
    assert.equal(cm.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION], `sha256:${expected}`);
    assert.equal(componentConfigHash(cm.data!), `sha256:${expected}`);
    const user = kubeProxyObjects(config, { componentConfig: kubeProxyComponentConfig(config), userSupplied: true });
    assert.equal(byKind(user, 'ConfigMap').metadata?.annotations, undefined);
  });

  it('use a KubeProxyConfiguration from --config over the defaults, unsigned as kubeadm leaves user configs', async () => {
    const config = configWith('apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n');
    const out = memoryPrinter();
    const ctx = new InitData({ config, host: new Host('/nonexistent-rootfs', { dryRun: true }), out, dryRun: true, uploadCerts: false });
    await new Runner(INIT_PHASES).run(ctx, { only: 'addon/kube-proxy' });
    const cm = parseAllDocuments(out.lines.find((l) => l.startsWith('apiVersion: v1\ndata:'))!)[0]!.toJS() as Extract<KubeObject, { kind: 'ConfigMap' }>;
    assert.equal(cm.metadata?.annotations, undefined);
    assert.equal((parse(cm.data!['config.conf']!) as Record<string, unknown>).mode, 'nftables');
  });

  it("says mode: iptables only from v1.37 (kubeadm's default before left it to kube-proxy)", () => {
    const conf = (v: string): Record<string, unknown> => kubeProxyComponentConfig(testConfig({ kubernetesVersion: v }));
    assert.equal(conf('v1.37.2').mode, 'iptables');
    assert.equal(conf('v1.36.3').mode, undefined);
    assert.equal(kubeProxyComponentConfig(testConfig({ apiserverAdvertiseAddress: 'fd00::1' })).bindAddress, '::');
  });
});

describe('the addon phase', () => {
  it('comes after bootstrap-token and before show-join-command, with the paths config/addons.ts names', () => {
    const order = INIT_PHASES.map((p) => p.name);
    assert.equal(order.indexOf('addon'), order.indexOf('bootstrap-token') + 1);
    assert.equal(order.indexOf('show-join-command'), order.indexOf('addon') + 1);
    const paths = new Runner(INIT_PHASES).entries().map((e) => e.path);
    for (const p of Object.values(ADDON_PHASE_PATHS)) assert.ok(paths.includes(p), p);
  });

  it('skipping addon/kube-proxy disables the proxy; dns.disabled skips addon/coredns (kubeadm’s manageSkippedAddons)', () => {
    const skipped = testConfig({ skipPhases: 'addon/kube-proxy' });
    assert.equal(skipped.cluster.proxy.disabled, true);
    assert.equal(skipped.cluster.dns.disabled, false);
    const all = testConfig({ skipPhases: 'addon/all' });
    assert.equal(all.cluster.proxy.disabled && all.cluster.dns.disabled, true);
    const cfg = testConfig({ skipPhases: 'addon/coredns' });
    assert.deepEqual([...cfg.skipPhases], ['addon/coredns']);
    assert.equal(cfg.cluster.dns.disabled, true);
    const disabled = configWith('apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ndns: {disabled: true}\n');
    assert.deepEqual([...disabled.skipPhases], ['addon/coredns']);
  });

  it('a dry run prints each object as kubeadm’s dry-run client, and a skipped addon prints nothing', async () => {
    const out = memoryPrinter();
    const config = testConfig({ skipPhases: 'addon/coredns' });
    const ctx = new InitData({ config, host: new Host('/nonexistent-rootfs', { dryRun: true }), out, dryRun: true, uploadCerts: false });
    await new Runner(INIT_PHASES).run(ctx, { only: 'addon', skip: config.skipPhases });
    const creates = out.lines.filter((l) => l.startsWith('[dryrun] Would perform action CREATE'));
    assert.deepEqual(creates, [
      '[dryrun] Would perform action CREATE on resource "configmaps" in API group "core/v1"',
      '[dryrun] Would perform action CREATE on resource "daemonsets" in API group "apps/v1"',
      '[dryrun] Would perform action CREATE on resource "serviceaccounts" in API group "core/v1"',
      '[dryrun] Would perform action CREATE on resource "clusterrolebindings" in API group "rbac.authorization.k8s.io/v1"',
      '[dryrun] Would perform action CREATE on resource "roles" in API group "rbac.authorization.k8s.io/v1"',
      '[dryrun] Would perform action CREATE on resource "rolebindings" in API group "rbac.authorization.k8s.io/v1"',
    ]);
    assert.equal(out.lines.at(-1), '[addons] Applied essential addon: kube-proxy');
    const printed = out.lines.filter((l) => !l.startsWith('['));
    const docs = printed.map((t) => parseAllDocuments(t)[0]!.toJS() as KubeObject);
    assert.deepEqual(docs, JSON.parse(JSON.stringify(proxy(config))));
  });
});
