/**
 * join --control-plane without a cluster: the ResolvedConfig built from the cluster's
 * ClusterConfiguration and this node's JoinConfiguration, the version-skew rule, the etcd manifest's
 * --initial-cluster, and the phase list (kubeadm 1.37's order; a worker join runs none of the
 * control-plane phases).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveJoinConfig } from '../../src/config/join.js';
import { controlPlaneJoinConfig, controlPlaneSkewError } from '../../src/config/join-control-plane.js';
import { DEFAULT_KUBERNETES_VERSION } from '../../src/config/versions.js';
import { ConfigError } from '../../src/errors.js';
import type { EtcdMember } from '../../src/etcd/client.js';
import { Host } from '../../src/host/host.js';
import { etcdCommand } from '../../src/manifests/components.js';
import { memoryPrinter } from '../../src/output.js';
import { JoinData } from '../../src/phases/join/data.js';
import { initialCluster } from '../../src/phases/join/etcd-join.js';
import { JOIN_PHASES } from '../../src/phases/join/index.js';
import { Runner } from '../../src/phases/runner.js';

const TOKEN = 'abcdef.0123456789abcdef';
const PIN = `sha256:${'ab'.repeat(32)}`;
const KEY = 'cd'.repeat(32);

const cpJoin = (extra: Record<string, unknown> = {}) =>
  resolveJoinConfig(
    {
      token: TOKEN,
      discoveryTokenCaCertHash: [PIN],
      nodeName: 'cp2',
      controlPlane: true,
      apiserverAdvertiseAddress: '10.0.0.12',
      certificateKey: KEY,
      ...extra,
    },
    ['10.0.0.100:6443'],
    () => undefined,
  );

const CLUSTER = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${DEFAULT_KUBERNETES_VERSION}
controlPlaneEndpoint: 10.0.0.100:6443
networking:
  podSubnet: 198.19.0.0/16
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
etcd:
  local:
    dataDir: /var/lib/etcd
`;

describe('controlPlaneJoinConfig: the cluster ClusterConfiguration + this node (kubeadm JoinData.InitCfg)', () => {
  it("keeps the cluster's settings and takes this node's endpoint, name, key and timeouts", () => {
    const join = cpJoin();
    join.join.timeouts.etcdAPICall = '7s';
    const cfg = controlPlaneJoinConfig(join, CLUSTER);
    assert.equal(cfg.nodeName, 'cp2');
    assert.equal(cfg.advertiseAddress, '10.0.0.12');
    assert.equal(cfg.localAPIServerURL, 'https://10.0.0.12:6443');
    assert.equal(cfg.clusterAPIServerURL, 'https://10.0.0.100:6443');
    assert.equal(cfg.cluster.networking.podSubnet, '198.19.0.0/16');
    assert.equal(cfg.init.certificateKey, KEY);
    assert.equal(cfg.timeoutsMs.etcdAPICall, 7000);
    assert.equal(cfg.cluster.etcd.local?.dataDir, '/var/lib/etcd');
  });
  it('a ConfigMap without a ClusterConfiguration document is one line', () => {
    assert.throws(
      () => controlPlaneJoinConfig(cpJoin(), 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n'),
      (err: unknown) => err instanceof ConfigError && /^kube-system\/kubeadm-config: has no ClusterConfiguration document \(run/.test(err.oneLine()),
    );
  });
});

describe('controlPlaneSkewError: a control-plane join of another minor is refused with the rule', () => {
  it('the same minor is fine, whatever the patch', () => {
    assert.equal(controlPlaneSkewError('v1.37.2', 'v1.37.0'), undefined);
    assert.equal(controlPlaneSkewError('v1.37.2', undefined), undefined);
  });
  it('the API server of another minor (an upgrade half done) is refused, the rule quoted', () => {
    const e = controlPlaneSkewError('v1.37.2', 'v1.36.3');
    assert.match(e ?? '', /would run v1\.37\.2 but the cluster's API server serves v1\.36\.3/);
    assert.match(e ?? '', /"the newest and oldest kube-apiserver instances must be within one minor version"/);
  });
  it('a version kubestrap does not deploy is refused with the supported ones', () => {
    assert.match(controlPlaneSkewError('v1.30.1', 'v1.30.1') ?? '', /v1\.30\.1 is not one kubestrap deploys \(v1\.35, v1\.36, v1\.37\)/);
  });
});

describe('etcd-join: --initial-cluster of every member, this one under its node name', () => {
  const member = (ID: string, name: string, peer: string, isLearner = false): EtcdMember => ({ ID, name, peerURLs: [peer], clientURLs: [], isLearner });
  it('names the new (not yet started) member after the node, and joins the existing cluster', () => {
    const self = member('3', '', 'https://10.0.0.12:2380', true);
    const peers = initialCluster([member('1', 'cp1', 'https://10.0.0.11:2380'), self, member('4', '', 'https://10.0.0.99:2380', true)], self, 'cp2');
    assert.deepEqual(peers, [
      { name: 'cp1', peerURL: 'https://10.0.0.11:2380' },
      { name: 'cp2', peerURL: 'https://10.0.0.12:2380' },
    ]);
    const cmd = etcdCommand(controlPlaneJoinConfig(cpJoin(), CLUSTER), peers);
    assert.ok(cmd.includes('--initial-cluster=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380'), cmd.join(' '));
    assert.ok(cmd.includes('--initial-cluster-state=existing'));
    assert.ok(cmd.includes('--initial-advertise-peer-urls=https://10.0.0.12:2380'));
  });
  it("init's single-member cluster has no initial-cluster-state", () => {
    const cmd = etcdCommand(controlPlaneJoinConfig(cpJoin(), CLUSTER));
    assert.ok(cmd.includes('--initial-cluster=cp2=https://10.0.0.12:2380'));
    assert.ok(!cmd.some((a) => a.startsWith('--initial-cluster-state')));
  });
});

describe('join phases', () => {
  const runner = new Runner<JoinData>(JOIN_PHASES);
  it("are kubeadm 1.37's, with init's phases under control-plane-prepare and control-plane-join", () => {
    assert.deepEqual(
      runner.entries().map((e) => e.path),
      [
        'preflight',
        'control-plane-prepare',
        'control-plane-prepare/download-certs',
        'control-plane-prepare/certs',
        ...runner
          .entries()
          .map((e) => e.path)
          .filter((p) => p.startsWith('control-plane-prepare/certs/')),
        'control-plane-prepare/kubeconfig',
        'control-plane-prepare/kubeconfig/admin',
        'control-plane-prepare/kubeconfig/kubelet',
        'control-plane-prepare/kubeconfig/controller-manager',
        'control-plane-prepare/kubeconfig/scheduler',
        'control-plane-prepare/control-plane',
        'control-plane-prepare/control-plane/apiserver',
        'control-plane-prepare/control-plane/controller-manager',
        'control-plane-prepare/control-plane/scheduler',
        'check-etcd',
        'kubelet-start',
        'etcd-join',
        'kubelet-wait-bootstrap',
        'control-plane-join',
        'control-plane-join/mark-control-plane',
        'wait-control-plane',
      ],
    );
    assert.ok(runner.entries().some((e) => e.path === 'control-plane-prepare/certs/apiserver'));
    assert.ok(!runner.describe().includes('check-etcd'), 'check-etcd is hidden');
  });
  it('a worker join skips every control-plane phase without asking the cluster', async () => {
    const config = resolveJoinConfig({ token: TOKEN, discoveryTokenCaCertHash: [PIN], nodeName: 'w1' }, ['10.0.0.100:6443'], () => undefined);
    const ctx = new JoinData({ config, host: new Host('/', { dryRun: true }), out: memoryPrinter(), dryRun: true });
    assert.equal(ctx.controlPlaneJoin, false);
    const noop = new Runner<JoinData>(
      JOIN_PHASES.map((p) => (['preflight', 'kubelet-start', 'kubelet-wait-bootstrap'].includes(p.name) ? { ...p, run: () => undefined } : p)),
    );
    const ran = await noop.run(ctx);
    assert.deepEqual(ran, ['preflight', 'kubelet-start', 'kubelet-wait-bootstrap']);
  });
});
