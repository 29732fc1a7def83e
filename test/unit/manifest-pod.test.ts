/** The Pod around the command: metadata, probes, named port, resources, volumes and env, as kubeadm v1.35–v1.37. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import YAML from 'yaml';
import type { ResolvedConfig } from '../../src/config/types.js';
import { Host } from '../../src/host/host.js';
import { renderControlPlaneManifests, type ComponentName } from '../../src/manifests/index.js';
import { testConfig } from '../support/config-fixture.js';

let root: string;
let host: Host;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kubestrap-manifest-pod-'));
  host = new Host(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function config(overrides: Parameters<typeof testConfig>[0] = {}): ResolvedConfig {
  return testConfig({ apiserverAdvertiseAddress: '10.0.0.1', podNetworkCidr: '10.244.0.0/16', ...overrides });
}

async function pods(cfg: ResolvedConfig, options: { environment?: Record<string, string>; on?: Host } = {}): Promise<Map<ComponentName, V1Pod>> {
  const manifests = await renderControlPlaneManifests(cfg, options.on ?? host, { environment: options.environment ?? {} });
  return new Map([...manifests].map(([c, m]) => [c, m.pod]));
}

const container = (pod: V1Pod): V1Container => pod.spec!.containers[0]!;

const probe = (host: string | undefined, path: string, scheme: string, timing: [number | undefined, number, number, number]) => {
  const [initialDelaySeconds, timeoutSeconds, failureThreshold, periodSeconds] = timing;
  return {
    failureThreshold,
    httpGet: { ...(host ? { host } : {}), path, port: 'probe-port', scheme },
    ...(initialDelaySeconds ? { initialDelaySeconds } : {}),
    periodSeconds,
    timeoutSeconds,
  };
};
const LIVENESS: [number, number, number, number] = [10, 15, 8, 10];
const READINESS: [undefined, number, number, number] = [undefined, 15, 3, 1];
const STARTUP: [number, number, number, number] = [10, 15, 24, 10];

test('common Pod fields of every component', async () => {
  for (const [component, pod] of await pods(config())) {
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata!.name, component);
    assert.equal(pod.metadata!.namespace, 'kube-system');
    assert.deepEqual(pod.metadata!.labels, { component, tier: 'control-plane' });
    assert.equal(pod.spec!.hostNetwork, true);
    assert.equal(pod.spec!.priority, 2000001000);
    assert.equal(pod.spec!.priorityClassName, 'system-node-critical');
    assert.deepEqual(pod.spec!.securityContext, { seccompProfile: { type: 'RuntimeDefault' } });
    assert.equal(pod.spec!.containers.length, 1);
    assert.equal(container(pod).name, component);
    assert.equal(container(pod).imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(pod.status, {});
  }
});

test('images, annotations and resource requests', async () => {
  const p = await pods(config());
  const expect: [ComponentName, string, Record<string, string> | undefined, Record<string, string>][] = [
    ['etcd', 'registry.k8s.io/etcd:3.7.0-0', { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': 'https://10.0.0.1:2379' }, { cpu: '100m', memory: '100Mi' }],
    // kubeadm's annotations, plus kubestrap's start/stop order (src/agent/start-order.ts; a kubelet ignores them)
    [
      'kube-apiserver',
      'registry.k8s.io/kube-apiserver:v1.37.2',
      { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': '10.0.0.1:6443', 'kubestrap.io/depends-on': 'http://127.0.0.1:2381/readyz' },
      { cpu: '250m' },
    ],
    [
      'kube-controller-manager',
      'registry.k8s.io/kube-controller-manager:v1.37.2',
      { 'kubestrap.io/start-after': 'https://10.0.0.1:6443/livez' },
      { cpu: '200m' },
    ],
    ['kube-scheduler', 'registry.k8s.io/kube-scheduler:v1.37.2', { 'kubestrap.io/start-after': 'https://10.0.0.1:6443/livez' }, { cpu: '100m' }],
  ];
  for (const [component, image, annotations, requests] of expect) {
    const pod = p.get(component)!;
    assert.equal(container(pod).image, image, component);
    assert.deepEqual(pod.metadata!.annotations, annotations, component);
    assert.deepEqual(container(pod).resources, { requests }, component);
  }
});

test('probes use the named probe-port with kubeadm v1.35–v1.37 hosts, paths and timings', async () => {
  const p = await pods(config());
  const expect: [ComponentName, number, object, object | undefined, object][] = [
    [
      'etcd',
      2381,
      probe('127.0.0.1', '/livez', 'HTTP', LIVENESS),
      probe('127.0.0.1', '/readyz', 'HTTP', READINESS),
      probe('127.0.0.1', '/readyz', 'HTTP', STARTUP),
    ],
    [
      'kube-apiserver',
      6443,
      probe('10.0.0.1', '/livez', 'HTTPS', LIVENESS),
      probe('10.0.0.1', '/readyz', 'HTTPS', READINESS),
      probe('10.0.0.1', '/livez', 'HTTPS', STARTUP),
    ],
    // The controller-manager is still probed on /healthz and has no readiness probe (through v1.37).
    ['kube-controller-manager', 10257, probe('127.0.0.1', '/healthz', 'HTTPS', LIVENESS), undefined, probe('127.0.0.1', '/healthz', 'HTTPS', STARTUP)],
    [
      'kube-scheduler',
      10259,
      probe('127.0.0.1', '/livez', 'HTTPS', LIVENESS),
      probe('127.0.0.1', '/readyz', 'HTTPS', READINESS),
      probe('127.0.0.1', '/livez', 'HTTPS', STARTUP),
    ],
  ];
  for (const [component, port, liveness, readiness, startup] of expect) {
    const c = container(p.get(component)!);
    assert.deepEqual(c.ports, [{ containerPort: port, name: 'probe-port', protocol: 'TCP' }], component);
    assert.deepEqual(c.livenessProbe, liveness, component);
    assert.deepEqual(c.readinessProbe, readiness, component);
    assert.deepEqual(c.startupProbe, startup, component);
  }
});

test('startup failureThreshold is ceil(controlPlaneComponentHealthCheck / 10s)', async () => {
  const cfg = config();
  cfg.timeoutsMs.controlPlaneComponentHealthCheck = 95_000;
  for (const pod of (await pods(cfg)).values()) assert.equal(container(pod).startupProbe!.failureThreshold, 10);
});

test('probe hosts follow bind-address, listen-metrics-urls and bindPort', async () => {
  const cfg = config();
  cfg.bindPort = 7443;
  cfg.cluster.scheduler.extraArgs = [{ name: 'bind-address', value: '0.0.0.0' }];
  cfg.cluster.controllerManager.extraArgs = [{ name: 'bind-address', value: '10.0.0.1' }];
  cfg.cluster.etcd.local!.extraArgs = [{ name: 'listen-metrics-urls', value: 'https://10.0.0.1:2391,http://127.0.0.1:2381' }];
  const p = await pods(cfg);
  // 0.0.0.0 cannot be probed: kubeadm leaves the host out so the kubelet uses the pod IP.
  assert.equal(container(p.get('kube-scheduler')!).livenessProbe!.httpGet!.host, undefined);
  assert.equal(container(p.get('kube-controller-manager')!).livenessProbe!.httpGet!.host, '10.0.0.1');
  const etcd = container(p.get('etcd')!);
  assert.deepEqual(etcd.ports, [{ containerPort: 2391, name: 'probe-port', protocol: 'TCP' }]);
  assert.equal(etcd.livenessProbe!.httpGet!.host, '10.0.0.1');
  assert.equal(etcd.livenessProbe!.httpGet!.scheme, 'HTTPS');
  const apiserver = container(p.get('kube-apiserver')!);
  assert.equal(apiserver.ports![0]!.containerPort, 7443);
  assert.ok(apiserver.command!.includes('--secure-port=7443'));
  assert.equal(p.get('kube-apiserver')!.metadata!.annotations!['kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint'], '10.0.0.1:7443');
});

const hostPath = (name: string, p: string, type: string) => ({ name, hostPath: { path: p, type } });
const mount = (name: string, p: string, readOnly: boolean) => ({ name, mountPath: p, ...(readOnly ? { readOnly } : {}) });

// kubeadm v1.36 dropped the controller-manager's flexvolume-dir mount (phases/controlplane/volumes.go).
for (const [version, withFlex] of [
  ['v1.35.4', true],
  ['v1.36.3', false],
  ['v1.37.2', false],
] as const) {
  test(`${version}: default volumes and mounts, sorted by name (etcd mounts in kubeadm order: data first)`, async () => {
    const p = await pods(config({ kubernetesVersion: version }));
    const etcd = p.get('etcd')!;
    assert.deepEqual(etcd.spec!.volumes, [
      hostPath('etcd-certs', '/etc/kubernetes/pki/etcd', 'DirectoryOrCreate'),
      hostPath('etcd-data', '/var/lib/etcd', 'DirectoryOrCreate'),
    ]);
    assert.deepEqual(container(etcd).volumeMounts, [mount('etcd-data', '/var/lib/etcd', false), mount('etcd-certs', '/etc/kubernetes/pki/etcd', false)]);

    const apiserver = p.get('kube-apiserver')!;
    assert.deepEqual(apiserver.spec!.volumes, [
      hostPath('ca-certs', '/etc/ssl/certs', 'DirectoryOrCreate'),
      hostPath('k8s-certs', '/etc/kubernetes/pki', 'DirectoryOrCreate'),
    ]);
    assert.deepEqual(container(apiserver).volumeMounts, [mount('ca-certs', '/etc/ssl/certs', true), mount('k8s-certs', '/etc/kubernetes/pki', true)]);

    const kcm = p.get('kube-controller-manager')!;
    const flex = '/usr/libexec/kubernetes/kubelet-plugins/volume/exec';
    assert.deepEqual(kcm.spec!.volumes, [
      hostPath('ca-certs', '/etc/ssl/certs', 'DirectoryOrCreate'),
      ...(withFlex ? [hostPath('flexvolume-dir', flex, 'DirectoryOrCreate')] : []),
      hostPath('k8s-certs', '/etc/kubernetes/pki', 'DirectoryOrCreate'),
      hostPath('kubeconfig', '/etc/kubernetes/controller-manager.conf', 'FileOrCreate'),
    ]);
    assert.deepEqual(container(kcm).volumeMounts, [
      mount('ca-certs', '/etc/ssl/certs', true),
      ...(withFlex ? [mount('flexvolume-dir', flex, false)] : []),
      mount('k8s-certs', '/etc/kubernetes/pki', true),
      mount('kubeconfig', '/etc/kubernetes/controller-manager.conf', true),
    ]);

    const scheduler = p.get('kube-scheduler')!;
    assert.deepEqual(scheduler.spec!.volumes, [hostPath('kubeconfig', '/etc/kubernetes/scheduler.conf', 'FileOrCreate')]);
    assert.deepEqual(container(scheduler).volumeMounts, [mount('kubeconfig', '/etc/kubernetes/scheduler.conf', true)]);
  });
}

test('distribution CA directories are mounted only when they exist under the rootfs', async () => {
  const caRoot = await mkdtemp(path.join(tmpdir(), 'kubestrap-manifest-ca-'));
  try {
    for (const dir of ['etc/pki/ca-trust', 'usr/share/ca-certificates']) await mkdir(path.join(caRoot, dir), { recursive: true });
    const p = await pods(config(), { on: new Host(caRoot) });
    const expected = [
      hostPath('ca-certs', '/etc/ssl/certs', 'DirectoryOrCreate'),
      hostPath('etc-pki-ca-trust', '/etc/pki/ca-trust', 'DirectoryOrCreate'),
      hostPath('k8s-certs', '/etc/kubernetes/pki', 'DirectoryOrCreate'),
      hostPath('usr-share-ca-certificates', '/usr/share/ca-certificates', 'DirectoryOrCreate'),
    ];
    assert.deepEqual(p.get('kube-apiserver')!.spec!.volumes, expected);
    const kcmNames = p.get('kube-controller-manager')!.spec!.volumes!.map((v) => v.name);
    assert.deepEqual(kcmNames, ['ca-certs', 'etc-pki-ca-trust', 'k8s-certs', 'kubeconfig', 'usr-share-ca-certificates']);
    assert.ok(container(p.get('kube-apiserver')!).volumeMounts!.some((m) => m.name === 'etc-pki-ca-trust' && m.readOnly === true));
    assert.deepEqual(
      p.get('kube-scheduler')!.spec!.volumes!.map((v) => v.name),
      ['kubeconfig'],
    );
  } finally {
    await rm(caRoot, { recursive: true, force: true });
  }
});

test('extraVolumes: added in name order, pathType and readOnly as given, a default of the same name replaced', async () => {
  const cfg = config();
  cfg.cluster.apiServer.extraVolumes = [
    { name: 'audit', hostPath: '/var/log/kubernetes', mountPath: '/var/log/kubernetes', pathType: 'DirectoryOrCreate' },
    { name: 'policy', hostPath: '/etc/kubernetes/audit.yaml', mountPath: '/etc/audit.yaml', readOnly: true },
  ];
  cfg.cluster.controllerManager.extraVolumes = [
    { name: 'ca-certs', hostPath: '/opt/certs', mountPath: '/etc/ssl/certs', readOnly: true, pathType: 'Directory' },
  ];
  const p = await pods(cfg);
  const apiserver = p.get('kube-apiserver')!;
  assert.deepEqual(apiserver.spec!.volumes, [
    hostPath('audit', '/var/log/kubernetes', 'DirectoryOrCreate'),
    hostPath('ca-certs', '/etc/ssl/certs', 'DirectoryOrCreate'),
    hostPath('k8s-certs', '/etc/kubernetes/pki', 'DirectoryOrCreate'),
    // kubeadm always sets the type; an extraVolume without pathType gets "".
    hostPath('policy', '/etc/kubernetes/audit.yaml', ''),
  ]);
  assert.deepEqual(container(apiserver).volumeMounts, [
    mount('audit', '/var/log/kubernetes', false),
    mount('ca-certs', '/etc/ssl/certs', true),
    mount('k8s-certs', '/etc/kubernetes/pki', true),
    mount('policy', '/etc/audit.yaml', true),
  ]);
  assert.deepEqual(p.get('kube-controller-manager')!.spec!.volumes![0], hostPath('ca-certs', '/opt/certs', 'Directory'));
});

test('env: *_proxy variables of the environment plus extraEnvs (which win), sorted; etcd gets extraEnvs only', async () => {
  const cfg = config();
  cfg.cluster.apiServer.extraEnvs = [
    { name: 'GODEBUG', value: 'x509sha1=1' },
    { name: 'NO_PROXY', value: '10.0.0.0/8' },
  ];
  cfg.cluster.etcd.local!.extraEnvs = [{ name: 'ETCD_UNSUPPORTED_ARCH', value: 'arm' }];
  const environment = { https_proxy: 'http://proxy:3128', NO_PROXY: 'localhost', EMPTY_proxy: '', HOME: '/root' };
  const p = await pods(cfg, { environment });
  assert.deepEqual(container(p.get('kube-apiserver')!).env, [
    { name: 'GODEBUG', value: 'x509sha1=1' },
    { name: 'NO_PROXY', value: '10.0.0.0/8' },
    { name: 'https_proxy', value: 'http://proxy:3128' },
  ]);
  assert.deepEqual(container(p.get('kube-scheduler')!).env, [
    { name: 'NO_PROXY', value: 'localhost' },
    { name: 'https_proxy', value: 'http://proxy:3128' },
  ]);
  assert.deepEqual(container(p.get('etcd')!).env, [{ name: 'ETCD_UNSUPPORTED_ARCH', value: 'arm' }]);
  // Without proxies or extraEnvs there is no env key at all, as in kubeadm's output.
  const plain = await pods(config());
  assert.equal(container(plain.get('kube-scheduler')!).env, undefined);
});

test('values YAML would misread are quoted, and read back exactly', async () => {
  const cfg = config();
  const tricky = ['true', '1e3', 'yes', '# not a comment', 'a: b', '*alias', '{x}', ' padded ', 'multi\nline', ''];
  cfg.cluster.scheduler.extraEnvs = tricky.map((value, i) => ({ name: `V${i}`, value }));
  cfg.cluster.scheduler.extraArgs = tricky.map((value) => ({ name: 'config', value }));
  const manifests = await renderControlPlaneManifests(cfg, host, { environment: {} });
  const scheduler = manifests.get('kube-scheduler')!;
  const reparsed = YAML.parse(scheduler.yaml) as V1Pod;
  assert.deepEqual(
    container(reparsed).command!.filter((a) => a.startsWith('--config=')),
    tricky.map((v) => `--config=${v}`),
  );
  // kubeadm omits an empty env value (omitempty); everything else survives.
  assert.deepEqual(
    container(reparsed).env,
    tricky.map((value, i) => (value === '' ? { name: `V${i}` } : { name: `V${i}`, value })),
  );
});

test('the YAML text is exactly the pod object the renderer returns', async () => {
  const manifests = await renderControlPlaneManifests(config(), host, { environment: { HTTP_PROXY: 'http://p:1' } });
  for (const m of manifests.values()) {
    assert.deepEqual(YAML.parse(m.yaml), m.pod);
    assert.equal(m.path, `/etc/kubernetes/manifests/${m.component}.yaml`);
    assert.ok(m.yaml.startsWith('apiVersion: v1\nkind: Pod\nmetadata:\n'));
    assert.ok(m.yaml.endsWith('status: {}\n'));
  }
});
