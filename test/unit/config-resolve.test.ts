/** Config resolution: kubeadm v1beta4 defaults, derived values, flags, --config and the mixing rule. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { imageList } from '../../src/config/images.js';
import { parseConfig } from '../../src/config/load.js';
import { nthIP, parseCIDR, splitHostPort } from '../../src/config/net.js';
import { initDefaultsYaml } from '../../src/config/print.js';
import { resolveClusterConfiguration, resolveInitConfig } from '../../src/config/resolve.js';
import { ConfigError } from '../../src/errors.js';
import { testConfig } from '../support/config-fixture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubestrap-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = path.join(dir, `c${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}
const quiet = { warn: () => {} };
const HEAD = 'apiVersion: kubeadm.k8s.io/v1beta4\n';

describe('defaults', () => {
  test('testConfig has kubeadm v1beta4 defaults and the derived values', () => {
    const c = testConfig();
    assert.equal(c.nodeName, 'cp1');
    assert.equal(c.advertiseAddress, '127.0.0.1');
    assert.equal(c.bindPort, 6443);
    assert.equal(c.localAPIServerURL, 'https://127.0.0.1:6443');
    assert.equal(c.clusterAPIServerURL, 'https://127.0.0.1:6443');
    assert.equal(c.kubernetesServiceIP, '10.96.0.1');
    assert.equal(c.dnsServiceIP, '10.96.0.10');
    assert.equal(c.cluster.networking.serviceSubnet, '10.96.0.0/12');
    assert.equal(c.cluster.networking.dnsDomain, 'cluster.local');
    assert.equal(c.cluster.networking.podSubnet, undefined);
    assert.equal(c.cluster.kubernetesVersion, 'v1.37.2');
    assert.equal(c.cluster.clusterName, 'kubernetes');
    assert.equal(c.cluster.encryptionAlgorithm, 'RSA-2048');
    assert.equal(c.cluster.certificatesDir, '/etc/kubernetes/pki');
    assert.equal(c.certificateValidityMs, 8760 * 3600_000);
    assert.equal(c.caCertificateValidityMs, 87600 * 3600_000);
    assert.deepEqual(c.timeoutsMs, {
      controlPlaneComponentHealthCheck: 240_000,
      kubeletHealthCheck: 240_000,
      kubernetesAPICall: 60_000,
      etcdAPICall: 120_000,
      tlsBootstrap: 300_000,
      discovery: 300_000,
      upgradeManifests: 300_000,
    });
    assert.equal(c.init.nodeRegistration.criSocket, 'unix:///var/run/containerd/containerd.sock');
    assert.equal(c.init.nodeRegistration.imagePullPolicy, 'IfNotPresent');
    assert.equal(c.init.nodeRegistration.taints, null);
    assert.deepEqual(c.init.bootstrapTokens, [
      {
        token: 'abcdef.0123456789abcdef',
        ttl: '24h0m0s',
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ]);
    assert.deepEqual(c.images, {
      etcd: 'registry.k8s.io/etcd:3.7.0-0',
      kubeApiserver: 'registry.k8s.io/kube-apiserver:v1.37.2',
      kubeControllerManager: 'registry.k8s.io/kube-controller-manager:v1.37.2',
      kubeScheduler: 'registry.k8s.io/kube-scheduler:v1.37.2',
      pause: 'registry.k8s.io/pause:3.10.2',
      coredns: 'registry.k8s.io/coredns/coredns:v1.14.6',
      kubeProxy: 'registry.k8s.io/kube-proxy:v1.37.2',
    });
    assert.equal(c.etcdVersion, '3.7.0');
    assert.deepEqual(c.paths, {
      kubernetesDir: '/etc/kubernetes',
      manifestsDir: '/etc/kubernetes/manifests',
      pkiDir: '/etc/kubernetes/pki',
      etcdDataDir: '/var/lib/etcd',
      agentStateDir: '/var/lib/kubestrap/agent',
    });
  });

  test('host defaults: lowercase host name, an advertise address, a fresh valid token', async () => {
    const c = await resolveInitConfig({}, quiet);
    assert.match(c.nodeName, /^[a-z0-9.-]+$/);
    assert.ok(c.advertiseAddress.length > 0);
    assert.match(c.init.bootstrapTokens[0]!.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const again = await resolveInitConfig({}, quiet);
    assert.notEqual(again.init.bootstrapTokens[0]!.token, c.init.bootstrapTokens[0]!.token);
  });

  test('version labels mean the pinned default; a missing "v" is added', () => {
    assert.equal(testConfig({ kubernetesVersion: 'stable-1' }).cluster.kubernetesVersion, 'v1.37.2');
    assert.equal(testConfig({ kubernetesVersion: '1.36.2' }).cluster.kubernetesVersion, 'v1.36.2');
    const rc = testConfig({ kubernetesVersion: 'v1.37.0-rc.1' });
    assert.equal(rc.images.kubeApiserver, 'registry.k8s.io/kube-apiserver:v1.37.0-rc.1');
    // A minor alone, or kubeadm's stable-1.X label, means the table's patch of that minor (offline).
    for (const label of ['1.36', 'v1.36', 'stable-1.36', 'latest-1.36']) {
      assert.equal(testConfig({ kubernetesVersion: label }).cluster.kubernetesVersion, 'v1.36.3', label);
    }
    assert.equal(testConfig({ kubernetesVersion: '1.35' }).cluster.kubernetesVersion, 'v1.35.4');
  });
});

describe('flags', () => {
  test('every value flag lands in its field', () => {
    const c = testConfig({
      apiserverBindPort: '7443',
      controlPlaneEndpoint: 'lb.example.com',
      kubernetesVersion: 'v1.35.1',
      podNetworkCidr: '10.244.0.0/16',
      serviceCidr: '10.100.0.0/16',
      serviceDnsDomain: 'corp.local',
      apiserverCertExtraSans: 'lb.example.com, 10.0.0.100,*.example.org',
      certDir: '/srv/pki',
      imageRepository: 'mirror.local/k8s',
      criSocket: '/run/crio/crio.sock',
      ignorePreflightErrors: 'Swap,NumCPU',
      skipPhases: 'addon,certs/etcd-ca',
      tokenTtl: '2h',
    });
    assert.equal(c.bindPort, 7443);
    assert.equal(c.localAPIServerURL, 'https://127.0.0.1:7443');
    assert.equal(c.clusterAPIServerURL, 'https://lb.example.com:7443');
    assert.equal(c.cluster.networking.podSubnet, '10.244.0.0/16');
    assert.equal(c.kubernetesServiceIP, '10.100.0.1');
    assert.equal(c.dnsServiceIP, '10.100.0.10');
    assert.equal(c.cluster.networking.dnsDomain, 'corp.local');
    assert.deepEqual(c.cluster.apiServer.certSANs, ['lb.example.com', '10.0.0.100', '*.example.org']);
    assert.equal(c.paths.pkiDir, '/srv/pki');
    assert.equal(c.images.kubeApiserver, 'mirror.local/k8s/kube-apiserver:v1.35.1');
    assert.equal(c.images.coredns, 'mirror.local/k8s/coredns:v1.13.1');
    assert.equal(c.images.etcd, 'mirror.local/k8s/etcd:3.6.6-0');
    assert.equal(c.etcdVersion, '3.6.6');
    assert.equal(c.init.nodeRegistration.criSocket, 'unix:///run/crio/crio.sock');
    assert.deepEqual([...c.ignorePreflightErrors], ['swap', 'numcpu']);
    assert.deepEqual(c.skipPhases, ['addon', 'certs/etcd-ca']);
    assert.equal(c.init.bootstrapTokens[0]!.ttl, '2h');
  });

  test('IPv6 advertise address and endpoint are bracketed; endpoint port wins', () => {
    const c = testConfig({ apiserverAdvertiseAddress: 'fd00::10', controlPlaneEndpoint: '[fd00::1]:8443', serviceCidr: 'fd00:96::/108' });
    assert.equal(c.localAPIServerURL, 'https://[fd00::10]:6443');
    assert.equal(c.clusterAPIServerURL, 'https://[fd00::1]:8443');
    assert.equal(c.kubernetesServiceIP, 'fd00:96::1');
    assert.equal(c.dnsServiceIP, 'fd00:96::a');
  });

  test('dual-stack subnets are accepted; the first service subnet gives the service IPs', () => {
    const c = testConfig({ podNetworkCidr: '10.244.0.0/16,fd00:10::/56', serviceCidr: '10.96.0.0/16,fd00:20::/112' });
    assert.equal(c.kubernetesServiceIP, '10.96.0.1');
  });

  test('--config may be mixed only with the flags kubeadm allows', async () => {
    const f = file(`${HEAD}kind: InitConfiguration\nnodeRegistration:\n  name: cp1\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.1\nskipPhases: [addon]\n`);
    const c = await resolveInitConfig(
      { config: f, skipPhases: 'certs', ignorePreflightErrors: 'all', dryRun: true, uploadCerts: true, rootfs: '/tmp/x', runtime: 'process' },
      quiet,
    );
    assert.deepEqual(c.skipPhases, ['certs']);
    assert.equal(c.init.dryRun, true);
    assert.deepEqual([...c.ignorePreflightErrors], ['all']);
    assert.equal(c.configFile, f);
    await assert.rejects(
      resolveInitConfig({ config: f, serviceCidr: '10.1.0.0/16', podNetworkCidr: '10.2.0.0/16', dryRun: true }, quiet),
      (err: ConfigError) => {
        assert.equal(
          err.oneLine(),
          "can not mix '--config' with arguments [pod-network-cidr service-cidr] (set networking.podSubnet, networking.serviceSubnet in the config file instead)",
        );
        return true;
      },
    );
  });
});

describe('--config', () => {
  test('file values are read, defaults fill the rest, component configs are kept as given', async () => {
    const f = file(
      `${HEAD}kind: InitConfiguration\nnodeRegistration:\n  name: cp1\n  taints: []\n  kubeletExtraArgs:\n  - name: v\n    value: "4"\n` +
        `localAPIEndpoint:\n  advertiseAddress: 10.0.0.1\n  bindPort: 8443\nbootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 1h\n---\n` +
        `${HEAD}kind: ClusterConfiguration\nkubernetesVersion: v1.35.0\ncontrolPlaneEndpoint: 10.0.0.100\nnetworking:\n  podSubnet: 10.244.0.0/16\n` +
        `etcd:\n  local:\n    imageTag: 3.5.21-0\n    dataDir: /data/etcd\napiServer:\n  certSANs: [api.example.com]\n  extraArgs:\n  - name: audit-log-path\n    value: /var/log/a.log\n` +
        `encryptionAlgorithm: ECDSA-P256\n---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n`,
    );
    const warnings: string[] = [];
    const c = await resolveInitConfig({ config: f }, { warn: (m) => warnings.push(m) });
    assert.equal(c.nodeName, 'cp1');
    assert.deepEqual(c.init.nodeRegistration.taints, []);
    assert.deepEqual(c.init.nodeRegistration.kubeletExtraArgs, [{ name: 'v', value: '4' }]);
    assert.equal(c.bindPort, 8443);
    assert.equal(c.clusterAPIServerURL, 'https://10.0.0.100:8443');
    assert.deepEqual(c.init.bootstrapTokens[0], {
      token: 'abcdef.0123456789abcdef',
      ttl: '1h',
      usages: ['signing', 'authentication'],
      groups: ['system:bootstrappers:kubeadm:default-node-token'],
    });
    assert.equal(c.images.etcd, 'registry.k8s.io/etcd:3.5.21-0');
    assert.equal(c.etcdVersion, '3.5.21');
    assert.equal(c.paths.etcdDataDir, '/data/etcd');
    assert.equal(c.cluster.encryptionAlgorithm, 'ECDSA-P256');
    assert.equal(c.cluster.networking.serviceSubnet, '10.96.0.0/12');
    assert.deepEqual(c.cluster.apiServer.extraArgs, [{ name: 'audit-log-path', value: '/var/log/a.log' }]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(c.componentConfigs, { kubelet: { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd' } });
  });

  test('external etcd replaces the default local etcd and drops etcd from the image list', () => {
    const f = file(
      `${HEAD}kind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://10.0.0.5:2379]\n    caFile: /e/ca.crt\n    certFile: /e/c.crt\n    keyFile: /e/c.key\n`,
    );
    const cluster = resolveClusterConfiguration({ config: f }, quiet);
    assert.equal(cluster.etcd.local, undefined);
    assert.ok(!imageList(cluster).some((i) => i.includes('/etcd:')));
  });

  test('print init-defaults round-trips through --config', async () => {
    const text = initDefaultsYaml();
    assert.match(text, /^kind: InitConfiguration$/m);
    assert.match(text, /^kind: ClusterConfiguration$/m);
    assert.match(text, /token: abcdef\.0123456789abcdef/);
    const c = await resolveInitConfig({ config: file(text) }, quiet);
    assert.equal(c.nodeName, 'node');
    assert.equal(c.advertiseAddress, '1.2.3.4');
    const d = testConfig();
    assert.deepEqual(c.cluster, d.cluster);
    assert.deepEqual(
      { ...c.init, nodeRegistration: undefined, localAPIEndpoint: undefined },
      { ...d.init, nodeRegistration: undefined, localAPIEndpoint: undefined },
    );
  });
});

describe('config images list', () => {
  // `kubeadm config images list --kubernetes-version X` of each supported minor's kubeadm (its
  // constants.go: CoreDNSVersion, PauseVersion, DefaultEtcdVersion).
  const KUBEADM_IMAGES: Record<string, [coredns: string, pause: string, etcd: string]> = {
    'v1.35.4': ['v1.13.1', '3.10.1', '3.6.6-0'],
    'v1.36.3': ['v1.14.2', '3.10.2', '3.6.8-0'],
    'v1.37.2': ['v1.14.6', '3.10.2', '3.7.0-0'],
  };
  for (const [version, [coredns, pause, etcd]] of Object.entries(KUBEADM_IMAGES)) {
    test(`matches kubeadm's output for ${version}`, () => {
      assert.deepEqual(imageList(resolveClusterConfiguration({ kubernetesVersion: version }, quiet)), [
        `registry.k8s.io/kube-apiserver:${version}`,
        `registry.k8s.io/kube-controller-manager:${version}`,
        `registry.k8s.io/kube-scheduler:${version}`,
        `registry.k8s.io/kube-proxy:${version}`,
        `registry.k8s.io/coredns/coredns:${coredns}`,
        `registry.k8s.io/pause:${pause}`,
        `registry.k8s.io/etcd:${etcd}`,
      ]);
    });
  }

  test('flags override the file', () => {
    const f = file(`${HEAD}kind: ClusterConfiguration\nkubernetesVersion: v1.35.0\nimageRepository: a.example\n`);
    const images = imageList(resolveClusterConfiguration({ config: f, imageRepository: 'b.example' }, quiet));
    assert.equal(images[0], 'b.example/kube-apiserver:v1.35.0');
  });
});

describe('helpers', () => {
  test('Go durations', () => {
    assert.equal(parseDuration('24h0m0s'), 86_400_000);
    assert.equal(parseDuration('4m'), 240_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0'), 0);
    for (const bad of ['', '4', 'h', '-1h', '1d', '1h 2m']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(formatDuration(86_400_000), '24h0m0s');
    assert.equal(formatDuration(240_000), '4m0s');
    assert.equal(formatDuration(500), '500ms');
  });

  test('CIDR arithmetic and host:port', () => {
    assert.equal(nthIP(parseCIDR('10.96.0.0/12')!, 10), '10.96.0.10');
    assert.equal(nthIP(parseCIDR('192.168.1.77/24')!, 1), '192.168.1.1');
    assert.equal(nthIP(parseCIDR('fd00::/108')!, 1), 'fd00::1');
    assert.equal(nthIP(parseCIDR('10.0.0.0/30')!, 10), undefined);
    assert.equal(parseCIDR('10.0.0.0/33'), undefined);
    assert.equal(parseCIDR('10.0.0.0'), undefined);
    assert.deepEqual(splitHostPort('[::1]:6443'), { host: '::1', port: '6443' });
    assert.deepEqual(splitHostPort('::1'), { host: '::1' });
    assert.deepEqual(splitHostPort('lb:443'), { host: 'lb', port: '443' });
  });

  test('YAML anchors and merge keys work as in Go YAML', () => {
    const loaded = parseConfig(
      `${HEAD}kind: ClusterConfiguration\napiServer:\n  extraVolumes:\n  - &vol {name: a, hostPath: /a, mountPath: /a}\n  - <<: *vol\n    name: b\n`,
      'x.yaml',
    );
    assert.deepEqual(loaded.cluster?.apiServer?.extraVolumes?.[1], { name: 'b', hostPath: '/a', mountPath: '/a' });
  });

  test('testConfig with a config file takes the node from the file', () => {
    const c = testConfig({ config: file(initDefaultsYaml()) });
    assert.equal(c.nodeName, 'node');
  });

  test('empty YAML documents are skipped', () => {
    const loaded = parseConfig(`---\n${HEAD}kind: ClusterConfiguration\n---\n`, 'x.yaml');
    assert.ok(loaded.cluster);
    assert.equal(loaded.init, undefined);
  });
});
