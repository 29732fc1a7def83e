import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBERNETES_RELEASES } from '../../src/config/versions.js';
import { compareVersions, computePlan, renderPlan, type ClusterState } from '../../src/phases/upgrade/plan.js';

const [r35, r36, r37] = KUBERNETES_RELEASES as [
  (typeof KUBERNETES_RELEASES)[number],
  (typeof KUBERNETES_RELEASES)[number],
  (typeof KUBERNETES_RELEASES)[number],
];

/** A one-node cluster of `row` made by init: the four static pods on cp1, the agent's node. */
function cluster(row: typeof r36, patch = row.version): ClusterState {
  const on = (version: string): { node: string; version: string }[] => [{ node: 'cp1', version }];
  return {
    configVersion: patch,
    externalEtcd: false,
    components: { 'kube-apiserver': on(patch), 'kube-controller-manager': on(patch), 'kube-scheduler': on(patch), etcd: on(row.etcdImageTag) },
    kubelets: [],
    agentNodes: ['cp1'],
    loopbackAdvertise: [],
    componentConfigs: [
      { group: 'kubeproxy.config.k8s.io', current: '', preferred: 'v1alpha1' },
      { group: 'kubelet.config.k8s.io', current: 'v1beta1', preferred: 'v1beta1' },
    ],
  };
}

describe('upgrade plan', () => {
  it('orders versions semantically, a pre-release before its release', () => {
    assert.ok(compareVersions('v1.36.10', 'v1.36.9') > 0);
    assert.ok(compareVersions('v1.37.0-rc.1', 'v1.37.0') < 0);
    assert.equal(compareVersions('v1.36.3', '1.36.3'), 0);
  });

  it('offers the next minor from the newest patch of the previous one, with the etcd change', () => {
    const plan = computePlan(cluster(r36));
    assert.equal(plan.clusterVersion, r36.version);
    assert.deepEqual(
      plan.upgrades.map((u) => [u.description, u.target.version]),
      [['stable version', r37.version]],
    );
    assert.deepEqual(plan.upgrades[0]!.components, [
      { name: 'kube-apiserver', node: 'cp1', current: r36.version, target: r37.version },
      { name: 'kube-controller-manager', node: 'cp1', current: r36.version, target: r37.version },
      { name: 'kube-scheduler', node: 'cp1', current: r36.version, target: r37.version },
      { name: 'etcd', node: 'cp1', current: r36.etcdImageTag, target: r37.etcdImageTag },
    ]);
    assert.deepEqual(plan.upgrades[0]!.manual, []);
  });

  it("renders kubeadm's layout: manual table, component table, apply command, notes, component configs", () => {
    const text = renderPlan(computePlan(cluster(r36)), 'v0.1.0');
    const expected = `[upgrade] Fetching available versions to upgrade to (offline: from kubestrap's version table)
[upgrade/versions] Cluster version: ${r36.version}
[upgrade/versions] kubestrap version: v0.1.0
[upgrade/versions] Target version: ${r37.version}
[upgrade/versions] Latest version in the v1.36 series: ${r36.version}

Components that must be upgraded manually after you have upgraded the control plane with 'kubestrap upgrade apply':
COMPONENT   NODE      CURRENT   TARGET

Upgrade to the latest stable version:

COMPONENT                 NODE      CURRENT   TARGET
kube-apiserver            cp1       ${r36.version}   ${r37.version}
kube-controller-manager   cp1       ${r36.version}   ${r37.version}
kube-scheduler            cp1       ${r36.version}   ${r37.version}
etcd                      cp1       ${r36.etcdImageTag}   ${r37.etcdImageTag}

You can now apply the upgrade by executing the following command:

\tkubestrap upgrade apply ${r37.version}
`;
    assert.ok(text.startsWith(expected), text);
    assert.match(text, /- cp1 run the kubestrap agent instead of a kubelet/);
    assert.match(
      text,
      /API GROUP\s+CURRENT VERSION\s+PREFERRED VERSION\s+MANUAL UPGRADE REQUIRED\nkubeproxy\.config\.k8s\.io\s+-\s+v1alpha1\s+no\nkubelet\.config\.k8s\.io\s+v1beta1\s+v1beta1\s+no\n/,
    );
  });

  it('an older patch gets the patch upgrade first, then the next minor; real kubelets are manual', () => {
    const state = cluster(r36, 'v1.36.1');
    state.kubelets = [
      { node: 'w2', version: 'v1.36.1' },
      { node: 'w1', version: 'v1.33.0' },
    ];
    state.kubeProxyVersion = 'v1.36.1';
    state.dnsVersion = r36.corednsVersion;
    const plan = computePlan(state);
    assert.deepEqual(
      plan.upgrades.map((u) => [u.description, u.target.version]),
      [
        ['version in the v1.36 series', r36.version],
        ['stable version', r37.version],
      ],
    );
    const up = plan.upgrades[1]!;
    assert.deepEqual(
      up.manual.map((m) => `${m.node} ${m.current}`),
      ['w1 v1.33.0', 'w2 v1.36.1'],
    );
    assert.deepEqual(
      up.components.filter((c) => c.node === '').map((c) => [c.name, c.current, c.target]),
      [
        ['kube-proxy', 'v1.36.1', r37.version],
        ['CoreDNS', r36.corednsVersion, r37.corednsVersion],
      ],
    );
    assert.ok(
      plan.notes.some((n) => /kubelet on w1 \(v1\.33\.0\) would be more than 3 minors behind v1\.37/.test(n)),
      plan.notes.join('\n'),
    );
    assert.ok(!plan.notes.some((n) => /kubelet on w2/.test(n)));
    assert.ok(plan.notes.some((n) => /kubelet binaries are the operator's/.test(n)));
  });

  it('names what an upgrade cannot do: loopback advertise for 1.37, external etcd, a stale kubeadm-config, odd tags, mixed versions', () => {
    const state = cluster(r36);
    state.loopbackAdvertise = [{ node: 'cp1', version: '127.0.0.1' }];
    state.externalEtcd = true;
    state.components['kube-scheduler'] = [{ node: 'cp1', version: 'latest' }];
    state.components['kube-apiserver'].push({ node: 'cp2', version: 'v1.36.2' });
    const plan = computePlan(state);
    const notes = plan.notes.join('\n');
    assert.match(notes, /kube-apiserver on cp1 advertises the loopback address 127\.0\.0\.1, which v1\.37\.\d+ refuses: .*--endpoint-reconciler-type=none/);
    assert.match(notes, /etcd is external: upgrade it yourself/);
    assert.match(notes, /kube-scheduler on cp1 runs image tag "latest", which is not a version/);
    assert.match(notes, /the API servers run different versions \(v1\.36\.3 on cp1; v1\.36\.2 on cp2\)/);
    assert.ok(!plan.upgrades[0]!.components.some((c) => c.name === 'etcd'), 'no etcd row for an external etcd');

    const edited = cluster(r37);
    edited.configVersion = r36.version;
    const after = computePlan(edited);
    assert.deepEqual(after.upgrades, []);
    assert.match(after.notes.join('\n'), new RegExp(`kubeadm-config says kubernetesVersion ${r36.version} but kube-apiserver runs ${r37.version}`));
    assert.match(
      renderPlan(after, 'v0.1.0'),
      new RegExp(`Nothing to upgrade to: the cluster runs ${r37.version}, and kubestrap knows up to ${r37.version}\\.`),
    );
  });

  it('one minor at a time: from 1.35 only 1.36 is offered, with a note', () => {
    const plan = computePlan(cluster(r35));
    assert.deepEqual(
      plan.upgrades.map((u) => u.target.version),
      [r36.version],
    );
    assert.match(plan.notes.join('\n'), new RegExp(`${r37.version} is more than one minor ahead: upgrade one minor at a time \\(first to ${r36.version}\\)`));
  });

  it('refuses to plan without a kube-apiserver version', () => {
    const state = cluster(r36);
    state.components['kube-apiserver'] = [];
    assert.throws(() => computePlan(state), /no kube-apiserver mirror pod with a version tag in kube-system/);
  });
});
