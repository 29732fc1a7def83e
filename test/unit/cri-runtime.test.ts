import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { runState } from '../../src/agent/runtime/cri.js';
import { defaultPullPolicy } from '../../src/pod/defaults.js';
import { containerConfig, podLogDirectory, sandboxConfig } from '../../src/agent/runtime/cri/config.js';
import { hashContainer } from '../../src/agent/runtime/cri/hash.js';
import { containerResources, parseQuantity, qosClass } from '../../src/agent/runtime/cri/resources.js';
import { containerMounts } from '../../src/agent/runtime/cri/volumes.js';
import type { RuntimePod } from '../../src/agent/runtime/types.js';
import type { ContainerStatus } from '../../src/cri/client.js';
import { HostError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';

function etcdPod(): RuntimePod {
  const pod: V1Pod = {
    metadata: {
      name: 'etcd-node1',
      namespace: 'kube-system',
      uid: 'abc123',
      labels: { component: 'etcd', tier: 'control-plane' },
      annotations: { 'kubernetes.io/config.hash': 'abc123' },
    },
    spec: {
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      terminationGracePeriodSeconds: 30,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'etcd',
          image: 'registry.k8s.io/etcd:3.6.5-0',
          command: ['etcd', '--name=$(NODE)', '--data-dir=/var/lib/etcd', '--x=$$(NODE)'],
          env: [{ name: 'NODE', value: 'node1' }],
          resources: { requests: { cpu: '100m', memory: '100Mi' } },
          volumeMounts: [
            { name: 'etcd-data', mountPath: '/var/lib/etcd' },
            { name: 'certs', mountPath: '/etc/kubernetes/pki/etcd', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'etcd-data', hostPath: { path: '/var/lib/etcd', type: 'DirectoryOrCreate' } },
        { name: 'certs', hostPath: { path: '/etc/kubernetes/pki/etcd', type: 'DirectoryOrCreate' } },
      ],
    },
  };
  return { uid: 'abc123', name: 'etcd-node1', namespace: 'kube-system', pod };
}

test('container hash matches the kubelet (values computed by kubecontainer.HashContainer)', () => {
  assert.equal(hashContainer('etcd', 'registry.k8s.io/etcd:3.6.5-0'), '5a6992ae');
  assert.equal(hashContainer('kube-apiserver', 'registry.k8s.io/kube-apiserver:v1.34.4'), 'd61e31c3');
  assert.equal(hashContainer('a"<&', ''), '95b3aa00');
});

test('sandbox config: kubelet labels, host network, no hostname, log directory, ownership label', () => {
  const pod = etcdPod();
  const cfg = sandboxConfig(pod, { nodeName: 'node1', attempt: 2, logDirectory: '/r/var/log/pods/x', cgroupParent: '' });
  assert.deepEqual(cfg.metadata, { name: 'etcd-node1', uid: 'abc123', namespace: 'kube-system', attempt: 2 });
  assert.equal(cfg.hostname, '');
  assert.equal(cfg.logDirectory, '/r/var/log/pods/x');
  assert.deepEqual(cfg.labels, {
    component: 'etcd',
    tier: 'control-plane',
    'io.kubernetes.pod.name': 'etcd-node1',
    'io.kubernetes.pod.namespace': 'kube-system',
    'io.kubernetes.pod.uid': 'abc123',
    'io.kubestrap.agent': 'node1',
  });
  assert.deepEqual(cfg.annotations, { 'kubernetes.io/config.hash': 'abc123' });
  assert.deepEqual(cfg.linux?.securityContext?.namespaceOptions, { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' });
  assert.deepEqual(cfg.linux?.securityContext?.seccomp, { profileType: 'RuntimeDefault' });
  assert.equal(podLogDirectory(pod), '/var/log/pods/kube-system_etcd-node1_abc123');
});

test('hostPID maps to a NODE pid namespace; a pod network gets a hostname', () => {
  const pod = etcdPod();
  pod.pod.spec!.hostPID = true;
  pod.pod.spec!.hostNetwork = false;
  const cfg = sandboxConfig(pod, { nodeName: 'n', attempt: 0, logDirectory: '/l', cgroupParent: '' });
  assert.deepEqual(cfg.linux?.securityContext?.namespaceOptions, { network: 'POD', pid: 'NODE', ipc: 'POD' });
  assert.equal(cfg.hostname, 'etcd-node1');
});

test('container config: command as entrypoint with $(VAR) expansion, labels and kubelet annotations', () => {
  const pod = etcdPod();
  const c = pod.pod.spec!.containers[0]!;
  const cfg = containerConfig(pod, c, {
    nodeName: 'node1',
    attempt: 3,
    imageRef: 'sha256:feed',
    logPath: 'etcd/3.log',
    mounts: [],
    fieldValues: {},
    nodeMemoryBytes: 8 * 2 ** 30,
  });
  assert.deepEqual(cfg.metadata, { name: 'etcd', attempt: 3 });
  assert.deepEqual(cfg.image, { image: 'sha256:feed', userSpecifiedImage: 'registry.k8s.io/etcd:3.6.5-0' });
  assert.deepEqual(cfg.command, ['etcd', '--name=node1', '--data-dir=/var/lib/etcd', '--x=$(NODE)']);
  assert.deepEqual(cfg.args, []);
  assert.deepEqual(cfg.envs, [{ key: 'NODE', value: Buffer.from('node1') }]);
  assert.equal(cfg.logPath, 'etcd/3.log');
  assert.deepEqual(cfg.labels, {
    'io.kubernetes.pod.name': 'etcd-node1',
    'io.kubernetes.pod.namespace': 'kube-system',
    'io.kubernetes.pod.uid': 'abc123',
    'io.kubernetes.container.name': 'etcd',
    'io.kubestrap.agent': 'node1',
  });
  assert.deepEqual(cfg.annotations, {
    'io.kubernetes.container.hash': '5a6992ae',
    'io.kubernetes.container.restartCount': '3',
    'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
    'io.kubernetes.container.terminationMessagePolicy': 'File',
    'io.kubernetes.pod.terminationGracePeriod': '30',
  });
  // node-critical static pod: Guaranteed OOM score; 100m → 102 shares; no limits.
  assert.deepEqual(cfg.linux?.resources, { cpuPeriod: 0, cpuQuota: 0, cpuShares: 102, memoryLimitInBytes: 0, oomScoreAdj: -997 });
});

test('resources: quantities, QoS classes and Burstable OOM score', () => {
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity('128Mi'), 128 * 2 ** 20);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('2G'), 2e9);
  assert.equal(parseQuantity('bogus'), undefined);
  const pod: V1Pod = { spec: { containers: [{ name: 'a', resources: { requests: { memory: '1Gi' }, limits: { cpu: '500m' } } }] } };
  assert.equal(qosClass(pod), 'Burstable');
  const r = containerResources(pod, pod.spec!.containers[0]!, 4 * 2 ** 30);
  assert.deepEqual(r, { cpuPeriod: 100000, cpuQuota: 50000, cpuShares: 512, memoryLimitInBytes: 0, oomScoreAdj: 750 });
  const g: V1Pod = { spec: { containers: [{ name: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } };
  assert.equal(qosClass(g), 'Guaranteed');
  assert.equal(qosClass({ spec: { containers: [{ name: 'a' }] } }), 'BestEffort');
});

test('pull policy defaults like the kubelet', () => {
  assert.equal(defaultPullPolicy('registry.k8s.io/etcd:3.6.5-0'), 'IfNotPresent');
  assert.equal(defaultPullPolicy('busybox'), 'Always');
  assert.equal(defaultPullPolicy('localhost:5000/busybox'), 'Always');
  assert.equal(defaultPullPolicy('x:latest'), 'Always');
  assert.equal(defaultPullPolicy('x@sha256:abcd'), 'IfNotPresent');
});

test('CRI container status maps to the runtime state', () => {
  const base: ContainerStatus = {
    id: 'c1',
    metadata: null,
    state: 'CONTAINER_EXITED',
    createdAt: 1,
    startedAt: 1_700_000_000_000_000_000,
    finishedAt: 1_700_000_001_500_000_000,
    exitCode: 2,
    image: null,
    imageRef: '',
    reason: '',
    message: '',
    labels: {},
    annotations: {},
    mounts: [],
    logPath: '',
    imageId: '',
  };
  const exited = runState(base);
  assert.equal(exited.state, 'exited');
  if (exited.state === 'exited') {
    assert.equal(exited.exitCode, 2);
    assert.equal(exited.reason, 'Error');
    assert.equal(exited.finishedAt.getTime(), 1_700_000_001_500);
  }
  const running = runState({ ...base, state: 'CONTAINER_RUNNING' });
  assert.deepEqual(running, { state: 'running', startedAt: new Date(1_700_000_000_000) });
  assert.equal(runState({ ...base, state: 'CONTAINER_EXITED', exitCode: 0 }).state, 'exited');
  assert.deepEqual(runState({ ...base, state: 'CONTAINER_CREATED' }), { state: 'unknown', reason: 'ContainerCreated' });
});

test('hostPath mounts: sources under the rootfs, *OrCreate created, missing typed paths rejected', async () => {
  const rootfs = await mkdtemp(path.join(os.tmpdir(), 'cri-mounts-'));
  try {
    const host = new Host(rootfs);
    const pod = etcdPod();
    const mounts = await containerMounts(host, pod, pod.pod.spec!.containers[0]!);
    assert.deepEqual(mounts, [
      { containerPath: '/var/lib/etcd', hostPath: path.join(rootfs, 'var/lib/etcd'), readonly: false, propagation: 'PROPAGATION_PRIVATE' },
      { containerPath: '/etc/kubernetes/pki/etcd', hostPath: path.join(rootfs, 'etc/kubernetes/pki/etcd'), readonly: true, propagation: 'PROPAGATION_PRIVATE' },
    ]);
    assert.ok((await stat(path.join(rootfs, 'var/lib/etcd'))).isDirectory());
    pod.pod.spec!.volumes![1]!.hostPath!.type = 'File';
    await assert.rejects(
      containerMounts(host, pod, pod.pod.spec!.containers[0]!),
      (err: unknown) => err instanceof HostError && /is not a File/.test(err.message),
    );
    pod.pod.spec!.volumes![1] = { name: 'certs', configMap: { name: 'x' } };
    await assert.rejects(
      containerMounts(host, pod, pod.pod.spec!.containers[0]!),
      (err: unknown) => err instanceof HostError && /unsupported type/.test(err.message),
    );
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
});
