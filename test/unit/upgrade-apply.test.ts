import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { isIP } from 'node:net';
import { readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { renderFlagsEnv } from '../../src/agent/index.js';
import { parseConfig } from '../../src/config/load.js';
import { resolveInitConfig } from '../../src/config/resolve.js';
import { KUBERNETES_RELEASES } from '../../src/config/versions.js';
import { Host } from '../../src/host/host.js';
import { renderControlPlaneManifests, writeManifest } from '../../src/manifests/index.js';
import { clusterConfigurationYAML } from '../../src/phases/init/upload-config.js';
import { ComponentNotUp, describePodStatus, healthURL } from '../../src/phases/agent-waiter.js';
import { backupStamp, manifestDiff, StaticPodPathManager } from '../../src/phases/static-pod-paths.js';
import { manifestsEqual, plannedChanges } from '../../src/phases/upgrade/control-plane.js';
import { readNodeLocal, upgradeConfig } from '../../src/phases/upgrade/node-config.js';
import { versionPolicies } from '../../src/phases/upgrade/plan.js';
import { testConfig } from '../support/config-fixture.js';

const [r35, r36, r37] = KUBERNETES_RELEASES as [
  (typeof KUBERNETES_RELEASES)[number],
  (typeof KUBERNETES_RELEASES)[number],
  (typeof KUBERNETES_RELEASES)[number],
];
const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
const tmpRoot = (): string => {
  const r = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-unit-'));
  roots.push(r);
  return r;
};

describe('upgrade apply: version skew (kubeadm EnforceVersionPolicies)', () => {
  it('allows the next minor and a patch of the same one', () => {
    assert.deepEqual(versionPolicies({ target: r37.version, clusterVersion: r36.version, kubelets: [] }), { mandatory: [], skippable: [] });
    assert.deepEqual(versionPolicies({ target: r36.version, clusterVersion: 'v1.36.0', kubelets: [] }), { mandatory: [], skippable: [] });
  });
  it('refuses two minors at a time, in kubeadm words', () => {
    const e = versionPolicies({ target: r37.version, clusterVersion: r35.version, kubelets: [] });
    assert.deepEqual(e.mandatory, [`Specified version to upgrade to "${r37.version}" is too high; kubeadm can upgrade only 1 minor version at a time`]);
  });
  it('refuses a version outside the table (offline: no images known)', () => {
    const e = versionPolicies({ target: 'v1.37.99', clusterVersion: r36.version, kubelets: [] });
    assert.match(e.mandatory[0]!, /not a version this kubestrap knows/);
  });
  it('a downgrade and too old kubelets are skippable (--force)', () => {
    const e = versionPolicies({ target: r36.version, clusterVersion: 'v1.36.9', kubelets: [{ node: 'w1', version: 'v1.33.1' }] });
    assert.equal(e.mandatory.length, 0);
    assert.deepEqual(e.skippable, [
      `Specified version to upgrade to "${r36.version}" is lower than the cluster version "v1.36.9". Downgrades are not supported yet`,
    ]);
    const k = versionPolicies({ target: r37.version, clusterVersion: r36.version, kubelets: [{ node: 'w1', version: 'v1.33.1' }] });
    assert.deepEqual(k.skippable, ['There are kubelets in this cluster that are too old that have these versions [v1.33.1]']);
  });
});

describe('upgrade apply: the static pod path manager', () => {
  it('backs up once, writes atomically, restores every backup, and diffs', async () => {
    const host = new Host(tmpRoot());
    const paths = new StaticPodPathManager(host, '/etc/kubernetes', '/etc/kubernetes/manifests', new Date('2026-12-01T15:20:47Z'));
    assert.equal(backupStamp(new Date('2026-12-01T15:20:47Z')), '2026-12-01-15-20-47');
    assert.equal(paths.backupManifestDir, '/etc/kubernetes/tmp/kubestrap-backup-manifests-2026-12-01-15-20-47');
    await paths.write('etcd', 'a: 1\n');
    await paths.backup('etcd');
    await paths.write('etcd', 'a: 2\n');
    await paths.backup('etcd'); // the first backup (the version before the run) wins
    assert.equal(await readFile(host.path(paths.backupManifestPath('etcd')), 'utf8'), 'a: 1\n');
    const restored = await paths.restoreAll();
    assert.deepEqual(
      restored.map((b) => b.component),
      ['etcd'],
    );
    assert.equal(await paths.current('etcd'), 'a: 1\n');
    assert.deepEqual(await readdir(host.path('/etc/kubernetes/manifests')), ['etcd.yaml'], 'no temp file left');
    const d = manifestDiff('/m/etcd.yaml', 'a: 1\nb: 2\n', 'a: 1\nb: 3\n');
    assert.match(d, /^--- \/m\/etcd\.yaml\tcurrent$/m);
    assert.match(d, /^-b: 2$/m);
    assert.match(d, /^\+b: 3$/m);
    assert.equal(manifestDiff('/m', 'x', 'x'), '');
    assert.ok(manifestsEqual('a: 1\nb: [1]\n', 'b:\n  - 1\na: 1\n'), 'equal documents in another layout');
  });
});

describe('upgrade apply: this node at the target', () => {
  it('renders exactly what init wrote at the same version (skip), and only tags and flags that change at the next', async () => {
    const host = new Host(tmpRoot());
    const init = await resolveInitConfig(
      { kubernetesVersion: r36.version, nodeName: 'cp1', apiserverAdvertiseAddress: '192.0.2.10', criSocket: 'unix:///run/x.sock' },
      { warn: () => {} },
    );
    for (const m of (await renderControlPlaneManifests(init, host)).values()) await writeManifest(host, init, m);
    await host.writeFile(
      '/var/lib/kubestrap/kubestrap-flags.env',
      renderFlagsEnv(['--node-name=cp1', '--node-ip=192.0.2.10', '--container-runtime-endpoint=unix:///run/x.sock']),
    );
    const loaded = parseConfig(clusterConfigurationYAML(init), 'kube-system/kubeadm-config');
    const local = await readNodeLocal(host);
    assert.deepEqual(local, {
      nodeName: 'cp1',
      criSocket: 'unix:///run/x.sock',
      advertiseAddress: '192.0.2.10',
      bindPort: 6443,
      imagePullPolicy: 'IfNotPresent',
    });
    const components = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
    const paths = new StaticPodPathManager(host, '/etc/kubernetes', '/etc/kubernetes/manifests');
    const same = await plannedChanges({ config: upgradeConfig(loaded, local, r36.version), host, etcdUpgrade: true, components, paths });
    assert.deepEqual(
      same.map((c) => [c.component, c.diff]),
      components.map((c) => [c, '']),
    );
    const next = await plannedChanges({ config: upgradeConfig(loaded, local, r37.version), host, etcdUpgrade: true, components, paths });
    for (const ch of next) {
      assert.match(ch.diff, new RegExp(`^\\+\\s+image: registry\\.k8s\\.io/${ch.component}:`, 'm'), `${ch.component} gets a new image`);
      assert.equal(ch.next.pod.spec?.containers[0]?.image?.endsWith(ch.component === 'etcd' ? r37.etcdImageTag : r37.version), true);
    }
    const noEtcd = await plannedChanges({ config: upgradeConfig(loaded, local, r37.version), host, etcdUpgrade: false, components, paths });
    assert.deepEqual(
      noEtcd.map((c) => c.component),
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    );
  });

  it('renders a worker (no kube-apiserver here) with the default route address, as kubeadm dynamic defaults', () => {
    const loaded = parseConfig(clusterConfigurationYAML(testConfig({ kubernetesVersion: r36.version, nodeName: 'cp1' })), 'kube-system/kubeadm-config');
    const config = upgradeConfig(loaded, { nodeName: 'w1', criSocket: 'unix:///run/w1.sock' }, r37.version);
    assert.equal(config.nodeName, 'w1');
    assert.ok(isIP(config.init.localAPIEndpoint.advertiseAddress), config.init.localAPIEndpoint.advertiseAddress);
  });
});

describe('upgrade apply: what a failure says', () => {
  const pod: V1Pod = {
    metadata: { name: 'kube-apiserver-cp1', annotations: { 'kubestrap.io/errors': 'kube-apiserver: startup probe failed: connection refused' } },
    spec: {
      containers: [
        {
          name: 'kube-apiserver',
          ports: [{ name: 'probe-port', containerPort: 6443 }],
          startupProbe: { httpGet: { host: '192.0.2.10', port: 'probe-port' as unknown as number, path: '/livez', scheme: 'HTTPS' } },
          readinessProbe: { httpGet: { host: '192.0.2.10', port: 'probe-port' as unknown as number, path: '/readyz', scheme: 'HTTPS' } },
        },
      ],
    },
    status: {
      phase: 'Running',
      containerStatuses: [
        {
          name: 'kube-apiserver',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
        },
      ],
    },
  };
  it('the health endpoint is the readiness probe, its named port resolved', () => {
    assert.equal(healthURL(pod)?.href, 'https://192.0.2.10:6443/readyz');
  });
  it('names restarts, the last exit code, the waiting reason, probe failures and the log lines', () => {
    const status = describePodStatus(pod);
    assert.equal(
      status,
      'phase Running; kube-apiserver: restarts 3, last exit code 1 (Error), waiting CrashLoopBackOff: back-off 40s; errors: kube-apiserver: startup probe failed: connection refused',
    );
    const e = new ComponentNotUp('kube-apiserver', 'crash-loops', status, ['2026-12-01T15:00:00Z stderr F boom']);
    assert.deepEqual(e.details(), [
      'kube-apiserver crash-loops',
      `  agent status: ${status}`,
      '  last 1 log lines of kube-apiserver:',
      '    2026-12-01T15:00:00Z stderr F boom',
    ]);
  });
});

describe("the agent's /pods during a stop", () => {
  it('lists a pod whose containers are still being stopped, after the desired ones', async () => {
    const { podList } = await import('../../src/agent/server.js');
    const sp = (name: string, uid: string) => ({ pod: { metadata: { name, namespace: 'kube-system', uid } }, name, namespace: 'kube-system', uid }) as never;
    const list = podList({
      desired: () => [sp('etcd-cp1', 'new')],
      states: () => [],
      stopping: () => [{ pod: sp('etcd-cp1', 'old'), status: { phase: 'Running' }, errors: [] } as never],
      errors: () => [],
    });
    assert.deepEqual(
      list.items.map((p) => [p.metadata?.name, p.metadata?.uid, p.status?.phase]),
      [
        ['etcd-cp1', 'new', 'Pending'],
        ['etcd-cp1', 'old', 'Running'],
      ],
    );
  });
});

describe('upgrade node on a worker with a kubelet', () => {
  it("writes the cluster's kubelet-config (CRI endpoint from instance-config.yaml), backs the old one up, says the binary is the operator's", async () => {
    const { testConfig } = await import('../support/config-fixture.js');
    const { memoryPrinter } = await import('../../src/output.js');
    const { Runner } = await import('../../src/phases/runner.js');
    const { UpgradeData } = await import('../../src/phases/upgrade/data.js');
    const { NODE_PHASES } = await import('../../src/phases/upgrade/index.js');
    const host = new Host(tmpRoot());
    await host.writeFile('/var/lib/kubelet/config.yaml', 'kind: KubeletConfiguration\nold: true\n');
    await host.writeFile('/var/lib/kubelet/instance-config.yaml', 'containerRuntimeEndpoint: "unix:///run/w1.sock"\n');
    // join's own KubeletConfiguration document (kept by join): laid over the cluster's again
    await host.writeFile(
      '/var/lib/kubelet/kubestrap-node-config.yaml',
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n',
    );
    const out = memoryPrinter();
    const data = new UpgradeData({
      config: testConfig({ kubernetesVersion: r37.version, nodeName: 'w1' }),
      host,
      out,
      dryRun: false,
      kubeconfig: '/etc/kubernetes/kubelet.conf',
      yes: true,
      force: false,
      renewCertificates: true,
      etcdUpgrade: true,
      components: [],
    });
    const cm = { data: { kubelet: 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n' } };
    data.adminClient = async () => ({ core: { readNamespacedConfigMap: async () => cm } }) as never;
    await new Runner(NODE_PHASES).run(data);
    const written = await readFile(host.path('/var/lib/kubelet/config.yaml'), 'utf8');
    assert.match(written, /cgroupDriver: systemd/);
    assert.match(written, /containerRuntimeEndpoint: unix:\/\/\/run\/w1\.sock/);
    assert.match(written, /failCgroupV1: false/, "the node's own document stays");
    const backups = await readdir(host.path('/etc/kubernetes/tmp'));
    assert.equal(backups.length, 1);
    assert.match(backups[0]!, /^kubestrap-kubelet-config-/);
    assert.ok(out.lines.some((l) => l.includes('Skipping phase. Not a control plane node.')));
    assert.ok(out.lines.some((l) => l.includes('Skipping the addon phase. Not a control plane node.')));
    assert.ok(out.lines.some((l) => /The kubelet binary is yours, as with kubeadm: install the kubelet of v1\.37\.\d+/.test(l)));
  });
});
