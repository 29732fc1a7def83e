/**
 * Every flag of every manifest, checked against kubeadm of each supported minor (v1.35.4, v1.36.3,
 * v1.37.2: phases/controlplane/manifests.go, phases/etcd/local.go, util/arguments.go) for node cp1
 * advertising 10.0.0.1 with a pod subnet. The expected lists are written out as data, in the order
 * kubeadm emits them. The three minors emit the same default flags (their manifests.go differ only in
 * how extraArgs merge into etcd-servers and authorization-mode; local.go of v1.36 dropped the
 * pre-3.6 etcd flag names, which no supported etcd tag needs); the integration test
 * manifests-vs-kubeadm compares whole manifests with the real kubeadm of the suite's version.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResolvedConfig } from '../../src/config/types.js';
import { KUBERNETES_RELEASES } from '../../src/config/versions.js';
import { Host } from '../../src/host/host.js';
import { argsToCommand } from '../../src/manifests/args.js';
import { etcdTagAtLeast36 } from '../../src/manifests/etcd-version.js';
import { parseFlags, parseManifestCommand, renderControlPlaneManifests, type ComponentName } from '../../src/manifests/index.js';
import { testConfig } from '../support/config-fixture.js';

const KUBEADM_APISERVER = [
  '--advertise-address=10.0.0.1',
  '--allow-privileged=true',
  '--authorization-mode=Node,RBAC',
  '--client-ca-file=/etc/kubernetes/pki/ca.crt',
  '--enable-admission-plugins=NodeRestriction',
  '--enable-bootstrap-token-auth=true',
  '--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt',
  '--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt',
  '--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key',
  '--etcd-servers=https://127.0.0.1:2379',
  '--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt',
  '--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key',
  '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
  '--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt',
  '--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key',
  '--requestheader-allowed-names=front-proxy-client',
  '--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt',
  '--requestheader-extra-headers-prefix=X-Remote-Extra-',
  '--requestheader-group-headers=X-Remote-Group',
  '--requestheader-username-headers=X-Remote-User',
  '--secure-port=6443',
  '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
  '--service-account-key-file=/etc/kubernetes/pki/sa.pub',
  '--service-account-signing-key-file=/etc/kubernetes/pki/sa.key',
  '--service-cluster-ip-range=10.96.0.0/12',
  '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt',
  '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
];

/**
 * kubeadm's, plus our one deliberate addition: endpoint routing for webhooks and aggregated APIs
 * (the agent's node runs no kube-proxy). Sorted, as kubeadm emits them.
 */
const APISERVER = [...KUBEADM_APISERVER, '--enable-aggregator-routing=true'].sort();

const CONTROLLER_MANAGER = [
  '--allocate-node-cidrs=true',
  '--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf',
  '--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf',
  '--bind-address=127.0.0.1',
  '--client-ca-file=/etc/kubernetes/pki/ca.crt',
  '--cluster-cidr=10.244.0.0/16',
  '--cluster-name=kubernetes',
  '--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt',
  '--cluster-signing-key-file=/etc/kubernetes/pki/ca.key',
  '--controllers=*,bootstrapsigner,tokencleaner',
  '--kubeconfig=/etc/kubernetes/controller-manager.conf',
  '--leader-elect=true',
  '--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt',
  '--root-ca-file=/etc/kubernetes/pki/ca.crt',
  '--service-account-private-key-file=/etc/kubernetes/pki/sa.key',
  '--service-cluster-ip-range=10.96.0.0/12',
  '--use-service-account-credentials=true',
];

const SCHEDULER = [
  '--authentication-kubeconfig=/etc/kubernetes/scheduler.conf',
  '--authorization-kubeconfig=/etc/kubernetes/scheduler.conf',
  '--bind-address=127.0.0.1',
  '--kubeconfig=/etc/kubernetes/scheduler.conf',
  '--leader-elect=true',
];

/** etcd ≥ 3.6 (every supported minor's image: 3.6.6-0, 3.6.8-0, 3.7.0-0): stable flag names. */
const ETCD = [
  '--advertise-client-urls=https://10.0.0.1:2379',
  '--cert-file=/etc/kubernetes/pki/etcd/server.crt',
  '--client-cert-auth=true',
  '--data-dir=/var/lib/etcd',
  '--feature-gates=InitialCorruptCheck=true',
  '--initial-advertise-peer-urls=https://10.0.0.1:2380',
  '--initial-cluster=cp1=https://10.0.0.1:2380',
  '--key-file=/etc/kubernetes/pki/etcd/server.key',
  '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.1:2379',
  '--listen-metrics-urls=http://127.0.0.1:2381',
  '--listen-peer-urls=https://10.0.0.1:2380',
  '--name=cp1',
  '--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt',
  '--peer-client-cert-auth=true',
  '--peer-key-file=/etc/kubernetes/pki/etcd/peer.key',
  '--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
  '--snapshot-count=10000',
  '--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt',
  '--watch-progress-notify-interval=5s',
];

let root: string;
let host: Host;
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kubestrap-manifest-flags-'));
  host = new Host(root);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function config(overrides: Parameters<typeof testConfig>[0] = {}): ResolvedConfig {
  return testConfig({ apiserverAdvertiseAddress: '10.0.0.1', podNetworkCidr: '10.244.0.0/16', ...overrides });
}

async function commands(cfg: ResolvedConfig, h: Host = host): Promise<Map<ComponentName, { binary: string; args: string[] }>> {
  const manifests = await renderControlPlaneManifests(cfg, h, { environment: {} });
  return new Map([...manifests].map(([c, m]) => [c, parseManifestCommand(m.pod)]));
}

for (const { version } of KUBERNETES_RELEASES) {
  describe(`kubeadm ${version} flags, advertise 10.0.0.1, node cp1, podSubnet 10.244.0.0/16`, () => {
    const expected: [ComponentName, string[]][] = [
      ['etcd', ETCD],
      ['kube-apiserver', APISERVER],
      ['kube-controller-manager', CONTROLLER_MANAGER],
      ['kube-scheduler', SCHEDULER],
    ];
    for (const [component, flags] of expected) {
      test(`${component}: binary and every flag, in kubeadm's order`, async () => {
        const cmd = (await commands(config({ kubernetesVersion: version }))).get(component)!;
        assert.equal(cmd.binary, component);
        assert.deepEqual(cmd.args, flags);
      });
    }
  });
}

test('without a pod subnet the controller-manager allocates no node CIDRs', async () => {
  const cmd = (await commands(config({ podNetworkCidr: undefined }))).get('kube-controller-manager')!;
  const dropped = ['--allocate-node-cidrs=true', '--cluster-cidr=10.244.0.0/16', '--service-cluster-ip-range=10.96.0.0/12'];
  assert.deepEqual(
    cmd.args,
    CONTROLLER_MANAGER.filter((f) => !dropped.includes(f)),
  );
});

test('etcd image tags before 3.6.0 get the --experimental-* flags', async () => {
  const cfg = config();
  cfg.cluster.etcd.local!.imageTag = '3.5.24-0';
  const args = (await commands(cfg)).get('etcd')!.args;
  const expected = ETCD.filter((f) => !f.startsWith('--feature-gates=') && !f.startsWith('--watch-progress'));
  expected.splice(4, 0, '--experimental-initial-corrupt-check=true', '--experimental-watch-progress-notify-interval=5s');
  assert.deepEqual(args, expected);
});

test('the etcd 3.6 boundary follows semver precedence, like kubeadm', () => {
  const table: [string, boolean][] = [
    ['3.6.5-0', true],
    ['3.6.0', true],
    ['v3.6.1', true],
    ['3.10.0-0', true],
    ['4.0.0', true],
    ['3.6.0-0', false], // a pre-release of 3.6.0 sorts before it
    ['3.5.24-0', false],
    ['3.6', false], // not a full semantic version: kubeadm keeps the old flags
    ['latest', false],
  ];
  for (const [tag, stable] of table) assert.equal(etcdTagAtLeast36(tag), stable, tag);
});

describe('extraArgs', () => {
  test('an extraArg replaces every default of that flag; overrides follow the sorted defaults in the given order', () => {
    const base = [
      { name: 'b', value: '2' },
      { name: 'a', value: '9' },
      { name: 'a', value: '1' },
      { name: 'c', value: '3' },
    ];
    const overrides = [
      { name: 'z', value: '1' },
      { name: 'b', value: 'x' },
      { name: 'b', value: 'w' },
    ];
    assert.deepEqual(argsToCommand(base, overrides), ['--a=1', '--a=9', '--c=3', '--z=1', '--b=x', '--b=w']);
  });

  test('apiserver, controller-manager, scheduler and etcd extraArgs reach their commands', async () => {
    const cfg = config();
    cfg.cluster.apiServer.extraArgs = [
      { name: 'secure-port', value: '7443' },
      { name: 'audit-log-path', value: '/var/log/audit.log' },
      { name: 'authorization-mode', value: 'Node,Bogus,RBAC,Webhook' },
    ];
    cfg.cluster.controllerManager.extraArgs = [{ name: 'cluster-signing-duration', value: '24h' }];
    cfg.cluster.scheduler.extraArgs = [{ name: 'bind-address', value: '0.0.0.0' }];
    cfg.cluster.etcd.local!.extraArgs = [{ name: 'snapshot-count', value: '5000' }];
    const cmds = await commands(cfg);
    const apiserver = APISERVER.filter((f) => !f.startsWith('--secure-port=') && !f.startsWith('--authorization-mode='));
    assert.deepEqual(cmds.get('kube-apiserver')!.args, [
      ...apiserver,
      '--secure-port=7443',
      '--audit-log-path=/var/log/audit.log',
      '--authorization-mode=Node,Bogus,RBAC,Webhook',
    ]);
    assert.deepEqual(cmds.get('kube-controller-manager')!.args, [...CONTROLLER_MANAGER, '--cluster-signing-duration=24h']);
    assert.deepEqual(cmds.get('kube-scheduler')!.args, [...SCHEDULER.filter((f) => !f.startsWith('--bind-address')), '--bind-address=0.0.0.0']);
    assert.deepEqual(cmds.get('etcd')!.args, [...ETCD.filter((f) => !f.startsWith('--snapshot-count')), '--snapshot-count=5000']);
  });

  test('authorization-config replaces --authorization-mode entirely', async () => {
    const cfg = config();
    cfg.cluster.apiServer.extraArgs = [{ name: 'authorization-config', value: '/etc/kubernetes/authz.yaml' }];
    const flags = parseFlags((await commands(cfg)).get('kube-apiserver')!.args);
    assert.equal(
      flags.find((f) => f.name === 'authorization-mode'),
      undefined,
    );
    assert.equal(flags.at(-1)!.value, '/etc/kubernetes/authz.yaml');
  });

  test("etcd's advertise-client-urls extraArg becomes the apiserver's --etcd-servers", async () => {
    const cfg = config();
    cfg.cluster.etcd.local!.extraArgs = [{ name: 'advertise-client-urls', value: 'https://10.0.0.9:2379' }];
    const args = (await commands(cfg)).get('kube-apiserver')!.args;
    assert.ok(args.includes('--etcd-servers=https://10.0.0.9:2379'));
  });
});

test('--cert-dir moves every certificate path', async () => {
  const cmds = await commands(config({ certDir: '/srv/pki' }));
  for (const [component, cmd] of cmds) {
    for (const arg of cmd.args) assert.ok(!arg.includes('/etc/kubernetes/pki'), `${component}: ${arg}`);
  }
  assert.ok(cmds.get('kube-apiserver')!.args.includes('--client-ca-file=/srv/pki/ca.crt'));
  assert.ok(cmds.get('etcd')!.args.includes('--trusted-ca-file=/srv/pki/etcd/ca.crt'));
});

test('IPv6 advertise address: etcd on [::1], bracketed URLs', async () => {
  const cmds = await commands(config({ apiserverAdvertiseAddress: 'fd00::1', podNetworkCidr: undefined, serviceCidr: 'fd00:10::/108' }));
  assert.ok(cmds.get('kube-apiserver')!.args.includes('--etcd-servers=https://[::1]:2379'));
  const etcd = cmds.get('etcd')!.args;
  assert.ok(etcd.includes('--listen-client-urls=https://[::1]:2379,https://[fd00::1]:2379'));
  assert.ok(etcd.includes('--listen-metrics-urls=http://[::1]:2381'));
  assert.ok(etcd.includes('--initial-cluster=cp1=https://[fd00::1]:2380'));
});

test('external etcd: apiserver dials the endpoints with the given client certificates, no etcd manifest', async () => {
  const cfg = config();
  cfg.cluster.etcd = {
    external: {
      endpoints: ['https://10.0.0.5:2379', 'https://10.0.0.6:2379'],
      caFile: '/etc/etcd/pki/ca.crt',
      certFile: '/etc/etcd/pki/client.crt',
      keyFile: '/etc/etcd/pki/client.key',
    },
  };
  const manifests = await renderControlPlaneManifests(cfg, host, { environment: {} });
  assert.deepEqual([...manifests.keys()], ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
  const args = parseManifestCommand(manifests.get('kube-apiserver')!.pod).args;
  assert.ok(args.includes('--etcd-servers=https://10.0.0.5:2379,https://10.0.0.6:2379'));
  assert.ok(args.includes('--etcd-cafile=/etc/etcd/pki/ca.crt'));
  assert.ok(args.includes('--etcd-certfile=/etc/etcd/pki/client.crt'));
  assert.ok(args.includes('--etcd-keyfile=/etc/etcd/pki/client.key'));
  const volumes = manifests.get('kube-apiserver')!.pod.spec!.volumes!;
  assert.deepEqual(
    volumes.find((v) => v.name === 'etcd-certs-0'),
    { name: 'etcd-certs-0', hostPath: { path: '/etc/etcd/pki', type: 'DirectoryOrCreate' } },
  );
});

test('external CA mode (ca.crt without ca.key) gives empty --cluster-signing-*-file', async () => {
  const caRoot = await mkdtemp(path.join(tmpdir(), 'kubestrap-manifest-extca-'));
  try {
    await mkdir(path.join(caRoot, 'etc/kubernetes/pki'), { recursive: true });
    await writeFile(path.join(caRoot, 'etc/kubernetes/pki/ca.crt'), 'not checked here');
    const args = (await commands(config(), new Host(caRoot))).get('kube-controller-manager')!.args;
    assert.ok(args.includes('--cluster-signing-cert-file='));
    assert.ok(args.includes('--cluster-signing-key-file='));
    // With the key present it is an ordinary CA again.
    await writeFile(path.join(caRoot, 'etc/kubernetes/pki/ca.key'), 'key');
    const withKey = (await commands(config(), new Host(caRoot))).get('kube-controller-manager')!.args;
    assert.deepEqual(withKey, CONTROLLER_MANAGER);
  } finally {
    await rm(caRoot, { recursive: true, force: true });
  }
});

test('a loopback advertise address runs kube-apiserver without the endpoint reconciler where v1.37 refuses it', async () => {
  const reconciler = async (kubernetesVersion: string) =>
    (await commands(config({ apiserverAdvertiseAddress: '127.0.0.1', kubernetesVersion })))
      .get('kube-apiserver')!
      .args.filter((a) => a.startsWith('--endpoint-reconciler-type'));
  assert.deepEqual(await reconciler('v1.37.2'), ['--endpoint-reconciler-type=none']);
  assert.deepEqual(await reconciler('v1.36.3'), []);
  assert.deepEqual(await reconciler('v1.35.4'), []);
  // A host address keeps kubeadm's flags (the lease reconciler).
  assert.deepEqual((await commands(config())).get('kube-apiserver')!.args, APISERVER);
});
