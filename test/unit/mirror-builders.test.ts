import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodState, StaticPod } from '../../src/agent/pod-types.js';
import { needsDeletionConfirmed, needsRejection, podEvent, rejectEventMessage, rejectionStatus } from '../../src/agent/mirror/foreign.js';
import { buildLease, renewLease } from '../../src/agent/mirror/lease.js';
import { buildMirrorPod, isMirrorOf, mirrorStatus, statusFingerprint } from '../../src/agent/mirror/mirror-pod.js';
import { buildNode, goArch, missingLabels, type NodeFacts } from '../../src/agent/mirror/node.js';
import { markPatch, wantedTaints } from '../../src/phases/init/mark-control-plane.js';
import { closingMessage, joinCommand } from '../../src/phases/init/show-join-command.js';

const facts: NodeFacts = {
  nodeName: 'cp1',
  nodeIP: '10.0.0.1',
  kubeletPort: 10255,
  kubeletVersion: 'v1.34.4',
  containerRuntimeVersion: 'containerd://1.7.24',
  architecture: 'amd64',
  cpu: 2,
  memoryBytes: 4 * 1024 ** 3,
  ephemeralStorageBytes: 100 * 1024 ** 3,
  machineID: 'm',
  systemUUID: 's',
  bootID: 'b',
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
};

const sp: StaticPod = {
  uid: 'h1',
  name: 'kube-scheduler-cp1',
  namespace: 'kube-system',
  source: 'file',
  origin: '/etc/kubernetes/manifests/kube-scheduler.yaml',
  hash: 'h1',
  pod: {
    metadata: {
      name: 'kube-scheduler-cp1',
      namespace: 'kube-system',
      labels: { component: 'kube-scheduler' },
      annotations: { 'kubernetes.io/config.hash': 'h1' },
    },
    spec: { hostNetwork: true, serviceAccountName: 'x', containers: [{ name: 'kube-scheduler', image: 'registry.k8s.io/kube-scheduler:v1.34.4' }] },
  },
};

describe('node object', () => {
  it('has the labels, addresses, capacity, info and conditions the kubelet reports', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const node = buildNode(facts, now, [{ key: 'k', effect: 'NoSchedule' }]);
    assert.deepEqual(node.metadata?.labels, {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': 'cp1',
      'kubernetes.io/os': 'linux',
      'node.kubestrap.io/static-pods-only': 'true',
    });
    assert.deepEqual(missingLabels(node, facts), undefined);
    assert.deepEqual(missingLabels({ metadata: { labels: { ...node.metadata?.labels, 'node.kubestrap.io/static-pods-only': 'false' } } }, facts), {
      'node.kubestrap.io/static-pods-only': 'true',
    });
    assert.deepEqual(node.status?.addresses, [
      { type: 'InternalIP', address: '10.0.0.1' },
      { type: 'Hostname', address: 'cp1' },
    ]);
    assert.deepEqual(node.status?.capacity, { cpu: '2', memory: '4194304Ki', pods: '110', 'ephemeral-storage': '104857600Ki' });
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10255);
    assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.34.4');
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    assert.equal(ready?.reason, 'KubeletReady');
    assert.deepEqual(
      node.status?.conditions?.filter((c) => c.status === 'False').map((c) => c.type),
      ['MemoryPressure', 'DiskPressure', 'PIDPressure'],
    );
    assert.deepEqual(node.spec?.taints, [{ key: 'k', effect: 'NoSchedule' }]);
  });
  it('maps Node.js architectures to GOARCH', () => {
    assert.equal(goArch('x64'), 'amd64');
    assert.equal(goArch('arm64'), 'arm64');
  });
});

describe('lease', () => {
  it('is held by the node for 40 s with a microsecond renewTime and a Node owner', () => {
    const lease = buildLease('cp1', 'uid-1', new Date('2026-01-01T00:00:00.123Z'));
    assert.equal(lease.metadata?.namespace, 'kube-node-lease');
    assert.equal(lease.spec?.holderIdentity, 'cp1');
    assert.equal(lease.spec?.leaseDurationSeconds, 40);
    assert.equal(JSON.parse(JSON.stringify(lease)).spec.renewTime, '2026-01-01T00:00:00.123000Z');
    assert.deepEqual(lease.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'cp1', uid: 'uid-1' }]);
    const renewed = renewLease({ ...lease, metadata: { ...lease.metadata, resourceVersion: '7' } }, 'cp1', 'uid-1', new Date());
    assert.equal(renewed.metadata?.resourceVersion, '7');
  });
});

describe('mirror pod', () => {
  it('is what NodeRestriction accepts', () => {
    const m = buildMirrorPod(sp, { name: 'cp1', uid: 'node-uid' });
    assert.equal(m.metadata?.annotations?.['kubernetes.io/config.mirror'], 'h1');
    assert.equal(m.metadata?.annotations?.['kubernetes.io/config.source'], 'file');
    assert.deepEqual(m.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'cp1', uid: 'node-uid', controller: true }]);
    assert.equal(m.spec?.nodeName, 'cp1');
    assert.equal(m.spec?.serviceAccountName, undefined);
    assert.equal(m.spec?.automountServiceAccountToken, false);
    assert.equal(m.metadata?.uid, undefined);
    assert.ok(isMirrorOf(m, sp));
    assert.ok(!isMirrorOf(m, { ...sp, hash: 'h2' }));
    assert.equal(sp.pod.spec?.serviceAccountName, 'x', 'the static pod is not changed');
  });
  it('fills host and pod IPs for host-network pods and fingerprints status stably', () => {
    const state: PodState = { pod: sp, status: { phase: 'Running', startTime: new Date(0) }, restarts: 0, errors: [] };
    const s = mirrorStatus(state, '10.0.0.1');
    assert.equal(s.hostIP, '10.0.0.1');
    assert.equal(s.podIP, '10.0.0.1');
    assert.equal(statusFingerprint(s), statusFingerprint(mirrorStatus(state, '10.0.0.1')));
    assert.notEqual(statusFingerprint(s), statusFingerprint({ ...s, phase: 'Failed' }));
  });
});

describe('pods bound by the scheduler', () => {
  it('stay Pending with reason StaticPodsOnly, marked once, deletions confirmed', () => {
    const status = rejectionStatus('cp1', new Date(0));
    assert.deepEqual([status.phase, status.reason], ['Pending', 'StaticPodsOnly']);
    assert.match(status.message ?? '', /^node cp1 runs the kubestrap agent, which runs static pods only/);
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'False', 'StaticPodsOnly'],
        ['ContainersReady', 'False', 'StaticPodsOnly'],
      ],
    );
    assert.match(rejectEventMessage('cp1'), /node\.kubestrap\.io\/static-pods-only=true .*DoesNotExist/);
    assert.ok(needsRejection({ status: { phase: 'Pending' } }));
    assert.ok(!needsRejection({ status }), 'already marked: no second event after an agent restart');
    assert.ok(!needsRejection({ status: { phase: 'Failed' } }));
    assert.ok(!needsRejection({ metadata: { deletionTimestamp: new Date() }, status: { phase: 'Pending' } }));
    assert.ok(needsDeletionConfirmed({ metadata: { deletionTimestamp: new Date() }, status }));
    assert.ok(!needsDeletionConfirmed({ metadata: { deletionTimestamp: new Date() }, status: { phase: 'Failed' } }));
    assert.ok(!needsDeletionConfirmed({ status }));
    const ev = podEvent({ metadata: { name: 'p', namespace: 'ns', uid: 'u' } }, 'cp1', 'Warning', 'R', 'm');
    assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.name, ev.involvedObject.uid, ev.type], ['Pod', 'p', 'u', 'Warning']);
  });
});

describe('mark-control-plane patch', () => {
  it('adds labels and the default taint, keeping existing taints', () => {
    const patch = markPatch({ metadata: { resourceVersion: '5', labels: {} }, spec: { taints: [{ key: 'a', effect: 'NoExecute' }] } }, wantedTaints(null));
    assert.deepEqual(patch, {
      metadata: {
        resourceVersion: '5',
        labels: { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      },
      spec: {
        taints: [
          { key: 'a', effect: 'NoExecute' },
          { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
        ],
      },
    });
    assert.deepEqual(wantedTaints([]), []);
    const done = {
      metadata: { labels: patch!.metadata && { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } },
      spec: { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
    };
    assert.equal(markPatch(done, wantedTaints(null)), undefined);
  });
});

describe('join command', () => {
  it("is kubeadm's, with the control-plane variant when certs are uploaded", () => {
    assert.equal(
      joinCommand({ endpoint: '10.0.0.1:6443', token: 't', caHash: 'sha256:00' }),
      'kubestrap join 10.0.0.1:6443 --token t \\\n\t--discovery-token-ca-cert-hash sha256:00',
    );
    const text = closingMessage({
      endpoint: 'e:6443',
      token: 't',
      caHash: 'sha256:00',
      adminConf: '/etc/kubernetes/admin.conf',
      certificateKey: 'k',
      showControlPlaneJoin: false,
    });
    assert.match(text, /--control-plane --certificate-key k/);
    assert.match(text, /export KUBECONFIG=\/etc\/kubernetes\/admin.conf/);
    const plain = closingMessage({ endpoint: 'e:6443', token: 't', caHash: 'sha256:00', adminConf: '/a', showControlPlaneJoin: false });
    assert.doesNotMatch(plain, /--control-plane/);
  });
});
