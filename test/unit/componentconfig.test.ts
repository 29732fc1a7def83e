/**
 * Component configs the kubeadm way: KubeletConfiguration and KubeProxyConfiguration defaults (as
 * kubeadm v1.37.2 prints them, Go's zero values left out), the user's fields winning, strict
 * decoding through `--config`, a node's overlay, and kubeadm's component-config hash.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { COMPONENT_CONFIG_HASH_ANNOTATION, componentConfigHash } from '../../src/config/componentconfig/hash.js';
import { kubeProxyComponentConfig, kubeProxyComponentConfigWithNotes } from '../../src/config/componentconfig/kube-proxy.js';
import {
  kubeletComponentConfig,
  kubeletComponentConfigWithNotes,
  nodeLocalKubeletConfiguration,
  overlayKubeletConfiguration,
  validateKubeletConfiguration,
  type KubeletHostFacts,
} from '../../src/config/componentconfig/kubelet.js';
import { parseConfig } from '../../src/config/load.js';
import { initDefaultsYaml } from '../../src/config/print.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { ConfigError } from '../../src/errors.js';
import { kubeletConfigMap } from '../../src/phases/init/upload-config.js';
import { testConfig } from '../support/config-fixture.js';

const SYSTEMD: KubeletHostFacts = { systemd: true, systemdResolved: false };
const NO_SYSTEMD: KubeletHostFacts = { systemd: false, systemdResolved: false };
const KUBELET_HEAD = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n';
const PROXY_HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';
const INIT = 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: cp1\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.1\n';

const dir = mkdtempSync(path.join(tmpdir(), 'kubestrap-compcfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** A ResolvedConfig from an InitConfiguration plus `more` documents, through the real --config path. */
function withDocs(more: string, cluster = ''): ResolvedConfig {
  const f = path.join(dir, `c${n++}.yaml`);
  writeFileSync(f, `${INIT}${cluster ? `---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n${cluster}` : ''}---\n${more}`);
  return testConfig({ config: f });
}

/** `kubeadm config print init-defaults --component-configs KubeletConfiguration` (v1.37.2) without Go's zero values. */
const KUBEADM_KUBELET_DEFAULTS = {
  apiVersion: 'kubelet.config.k8s.io/v1beta1',
  kind: 'KubeletConfiguration',
  authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } },
  authorization: { mode: 'Webhook' },
  cgroupDriver: 'systemd',
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  healthzBindAddress: '127.0.0.1',
  healthzPort: 10248,
  rotateCertificates: true,
  staticPodPath: '/etc/kubernetes/manifests',
};

function configError(fn: () => unknown, expected: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.oneLine(), expected);
    return true;
  });
}

describe('KubeletConfiguration', () => {
  test("defaults are kubeadm's on a systemd host", () => {
    assert.deepEqual(kubeletComponentConfig(testConfig(), SYSTEMD), KUBEADM_KUBELET_DEFAULTS);
    assert.deepEqual(kubeletComponentConfigWithNotes(testConfig(), SYSTEMD).notes, []);
  });

  test('clusterDNS is the 10th IP of the service subnet, clusterDomain the DNS domain, clientCAFile under certificatesDir', () => {
    const doc = kubeletComponentConfig(testConfig({ serviceCidr: '10.100.0.0/16', serviceDnsDomain: 'lab.local', certDir: '/pki' }), SYSTEMD);
    assert.deepEqual(doc.clusterDNS, ['10.100.0.10']);
    assert.equal(doc.clusterDomain, 'lab.local');
    assert.deepEqual(doc.authentication, { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/pki/ca.crt' } });
  });

  test('without systemd as PID 1 the default driver is cgroupfs, with one line saying why', () => {
    const { doc, notes } = kubeletComponentConfigWithNotes(testConfig(), NO_SYSTEMD);
    assert.equal(doc.cgroupDriver, 'cgroupfs');
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^this host does not run systemd as PID 1 \(no \/run\/systemd\/system\), so the kubelets get cgroupDriver "cgroupfs"/);
  });

  test("the user's cgroupDriver is kept on any host, without a note", () => {
    const c = withDocs(`${KUBELET_HEAD}cgroupDriver: systemd\n`);
    assert.deepEqual(kubeletComponentConfigWithNotes(c, NO_SYSTEMD), { doc: { ...KUBEADM_KUBELET_DEFAULTS }, notes: [] });
  });

  test("the user's fields win, mappings merge, rotateCertificates stays true; kubeadm's warnings for changed recommendations", () => {
    const c = withDocs(
      `${KUBELET_HEAD}maxPods: 42\nclusterDNS: [10.96.0.53]\nrotateCertificates: false\nreadOnlyPort: 10255\n` +
        `authentication:\n  webhook:\n    cacheTTL: 30s\nevictionHard:\n  memory.available: 5%\n`,
    );
    const { doc, notes } = kubeletComponentConfigWithNotes(c, SYSTEMD);
    assert.deepEqual(doc, {
      ...KUBEADM_KUBELET_DEFAULTS,
      maxPods: 42,
      clusterDNS: ['10.96.0.53'],
      readOnlyPort: 10255,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true, cacheTTL: '30s' }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } },
      evictionHard: { 'memory.available': '5%' },
    });
    assert.deepEqual(notes, [
      'The recommended value for "clusterDNS" in "KubeletConfiguration" is: [10.96.0.10]; the provided value is: [10.96.0.53]',
      'The recommended value for "readOnlyPort" in "KubeletConfiguration" is: 0; the provided value is: 10255',
      'rotateCertificates: false is overridden: kubeadm always has the kubelets rotate their client certificates',
    ]);
  });

  test('strict: unknown field, misspelling, wrong shape, old apiVersion, bad cgroupDriver, twice', () => {
    const f = 'k.yaml';
    configError(
      () => validateKubeletConfiguration({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', maxPod: 1 }, f),
      'k.yaml: maxPod: unknown field in KubeletConfiguration (did you mean "maxPods"?)',
    );
    configError(
      () => validateKubeletConfiguration({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', nonsense: 1 }, f),
      'k.yaml: nonsense: unknown field in KubeletConfiguration (see the kubelet.config.k8s.io/v1beta1 KubeletConfiguration reference: https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/)',
    );
    configError(() => parseConfig(`${INIT}---\n${KUBELET_HEAD}maxPods: "42"\n`, f), 'k.yaml: maxPods: must be an integer, not the string "42"');
    configError(
      () => parseConfig(`${INIT}---\n${KUBELET_HEAD}syncFrequency: 10\n`, f),
      'k.yaml: syncFrequency: must be a duration such as "20s" or "1m30s", not the number 10',
    );
    configError(() => parseConfig(`${INIT}---\n${KUBELET_HEAD}authentication: []\n`, f), 'k.yaml: authentication: must be a mapping, not a list');
    configError(
      () => parseConfig(`${INIT}---\napiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n`, f),
      'k.yaml: apiVersion: "kubelet.config.k8s.io/v1alpha1" is not supported (use kubelet.config.k8s.io/v1beta1)',
    );
    configError(
      () => parseConfig(`${INIT}---\n${KUBELET_HEAD}cgroupDriver: cgroupsfs\n`, f),
      'k.yaml: cgroupDriver: cgroupDriver "cgroupsfs" is not one the kubelet knows (use systemd or cgroupfs)',
    );
    configError(
      () => parseConfig(`${INIT}---\n${KUBELET_HEAD}---\n${KUBELET_HEAD}`, f),
      'k.yaml: kind: KubeletConfiguration appears twice (documents 2 and 3) (merge them into one document)',
    );
  });

  test("a node's document over the cluster's: its fields win, mappings merge, lists are replaced, checked like init's", () => {
    const cluster = kubeletComponentConfig(testConfig(), SYSTEMD);
    const node = {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      maxPods: 10,
      clusterDNS: ['10.0.0.10'],
      authorization: { webhook: { cacheAuthorizedTTL: '1m' } },
    };
    assert.deepEqual(overlayKubeletConfiguration(cluster, node, 'join.yaml'), {
      ...cluster,
      maxPods: 10,
      clusterDNS: ['10.0.0.10'],
      authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '1m' } },
    });
    assert.equal(cluster.maxPods, undefined, 'the cluster document is not changed');
    configError(
      () => overlayKubeletConfiguration(cluster, { ...node, podsPerCores: 1 }, 'join.yaml'),
      'join.yaml: podsPerCores: unknown field in KubeletConfiguration (did you mean "podsPerCore"?)',
    );
  });

  test("node-local: resolvConf points at systemd-resolved's file where it runs, the user's value wins", () => {
    const doc = kubeletComponentConfig(testConfig(), SYSTEMD);
    assert.equal(nodeLocalKubeletConfiguration(doc, { systemd: true, systemdResolved: true }).resolvConf, '/run/systemd/resolve/resolv.conf');
    assert.equal(nodeLocalKubeletConfiguration(doc, SYSTEMD).resolvConf, undefined);
    assert.equal(nodeLocalKubeletConfiguration({ ...doc, resolvConf: '/etc/r.conf' }, { systemd: true, systemdResolved: true }).resolvConf, '/etc/r.conf');
  });
});

describe('KubeProxyConfiguration', () => {
  test("defaults are kubeadm's: wildcard of the advertise family, kube-proxy's kubeconfig, podSubnet, mode iptables (v1.37)", () => {
    assert.deepEqual(kubeProxyComponentConfig(testConfig()), {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      bindAddress: '0.0.0.0',
      clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
      mode: 'iptables',
    });
    assert.equal(kubeProxyComponentConfig(testConfig({ podNetworkCidr: '10.244.0.0/16' })).clusterCIDR, '10.244.0.0/16');
    assert.equal(kubeProxyComponentConfig(testConfig({ apiserverAdvertiseAddress: 'fd00::1', serviceCidr: 'fd00:96::/112' })).bindAddress, '::');
    // kubeadm v1.35 and v1.36 leave the mode to kube-proxy
    assert.equal(kubeProxyComponentConfig(testConfig({ kubernetesVersion: 'v1.36.3' })).mode, undefined);
  });

  test("the user's fields win, with kubeadm's warnings", () => {
    const c = withDocs(
      `${PROXY_HEAD}mode: ipvs\nbindAddress: 10.0.0.1\nclusterCIDR: 10.1.0.0/16\nclientConnection:\n  qps: 50\n`,
      'networking:\n  podSubnet: 10.244.0.0/16\n',
    );
    const { doc, notes } = kubeProxyComponentConfigWithNotes(c);
    assert.deepEqual(doc, {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      bindAddress: '10.0.0.1',
      clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', qps: 50 },
      clusterCIDR: '10.1.0.0/16',
      mode: 'ipvs',
    });
    assert.deepEqual(notes.slice(0, 2), [
      'The recommended value for "bindAddress" in "KubeProxyConfiguration" is: 0.0.0.0; the provided value is: 10.0.0.1',
      'The recommended value for "clusterCIDR" in "KubeProxyConfiguration" is: 10.244.0.0/16; the provided value is: 10.1.0.0/16',
    ]);
    assert.match(notes[2]!, /"mode" is set to "ipvs" which has been deprecated since version v1\.35/);
  });

  test('strict like the kubelet one', () => {
    configError(
      () => parseConfig(`${INIT}---\n${PROXY_HEAD}clusterCidr: 10.0.0.0/8\n`, 'p.yaml'),
      'p.yaml: clusterCidr: unknown field in KubeProxyConfiguration (did you mean "clusterCIDR"?)',
    );
    configError(
      () => parseConfig(`${INIT}---\n${PROXY_HEAD}mode: userspace\n`, 'p.yaml'),
      'p.yaml: mode: mode "userspace" is not a kube-proxy mode (use iptables, nftables or ipvs)',
    );
  });
});

describe('component-config hash', () => {
  // `kubeadm init phase upload-config kubelet --dry-run` (v1.37.2, certificatesDir /tmp/a-compcfg/dry/pki):
  // the ConfigMap's data and the annotation kubeadm put on it.
  const KUBEADM_DATA = [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'authentication:\n  anonymous:\n    enabled: false\n  webhook:\n    cacheTTL: 0s\n    enabled: true\n  x509:\n    clientCAFile: /tmp/a-compcfg/dry/pki/ca.crt',
    'authorization:\n  mode: Webhook\n  webhook:\n    cacheAuthorizedTTL: 0s\n    cacheUnauthorizedTTL: 0s',
    'cgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\ncontainerRuntimeEndpoint: ""\ncpuManagerReconcilePeriod: 0s',
    'crashLoopBackOff: {}\nevictionPressureTransitionPeriod: 0s\nfileCheckFrequency: 0s\nhealthzBindAddress: 127.0.0.1\nhealthzPort: 10248',
    'httpCheckFrequency: 0s\nimageMaximumGCAge: 0s\nimageMinimumGCAge: 0s\nkind: KubeletConfiguration',
    'logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: "0"\n    text:\n      infoBufferSize: "0"\n  verbosity: 0',
    'memorySwap: {}\nnodeStatusReportFrequency: 0s\nnodeStatusUpdateFrequency: 0s\nrotateCertificates: true\nruntimeRequestTimeout: 0s',
    'shutdownGracePeriod: 0s\nshutdownGracePeriodCriticalPods: 0s\nstaticPodPath: /etc/kubernetes/manifests\nstreamingConnectionIdleTimeout: 0s',
    'syncFrequency: 0s\nvolumeStatsAggPeriod: 0s\n',
  ].join('\n');

  test("equals kubeadm's annotation on its kubelet-config", () => {
    assert.equal(componentConfigHash({ kubelet: KUBEADM_DATA }), 'sha256:82bc6391fc2d05e50f6c10765e35c2804920ff58e557d52734093c33c6616e70');
  });

  test('data values in key order, then binaryData values in key order', () => {
    const sha = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
    assert.equal(componentConfigHash({ b: '2', a: '1' }), sha('12'));
    assert.equal(componentConfigHash({ a: '1' }, { z: Buffer.from('4'), y: Buffer.from('3').toString('base64') }), sha('134'));
  });

  test('kubelet-config carries it when generated, not when the user gave the KubeletConfiguration (as kubeadm)', () => {
    const generated = testConfig();
    const cm = kubeletConfigMap(generated, kubeletComponentConfig(generated, SYSTEMD));
    assert.deepEqual(cm.metadata?.annotations, { [COMPONENT_CONFIG_HASH_ANNOTATION]: componentConfigHash(cm.data!) });
    const user = withDocs(`${KUBELET_HEAD}maxPods: 42\n`);
    const mine = kubeletConfigMap(user, kubeletComponentConfig(user, SYSTEMD));
    assert.equal(mine.metadata?.annotations, undefined);
    assert.match(mine.data!.kubelet!, /^maxPods: 42$/m);
  });
});

test('config print init-defaults --component-configs appends the documents in the order asked', () => {
  const docs = initDefaultsYaml(['KubeProxyConfiguration', 'KubeletConfiguration']).split('---\n');
  assert.equal(docs.length, 4);
  assert.match(docs[2]!, /^kind: KubeProxyConfiguration$/m);
  assert.match(docs[3]!, /^cgroupDriver: systemd$/m);
  configError(
    () => initDefaultsYaml(['KubeletConfig']),
    '--component-configs: needs to contain some of [KubeProxyConfiguration KubeletConfiguration], not "KubeletConfig"',
  );
});
