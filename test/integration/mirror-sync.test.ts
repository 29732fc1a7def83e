/**
 * MirrorSync against a real etcd + kube-apiserver (NodeRestriction on), as system:node:cp1 from
 * kubelet.conf: node registration, lease, mirror pods (create, status, recreate after delete,
 * replace on hash change, remove), warning events, and rejection of scheduler-bound pods.
 * The pod states are given directly: what is under test is the API side, not the workers.
 */
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { memoryLogger } from '../../src/agent/log.js';
import { MirrorSync } from '../../src/agent/mirror/index.js';
import type { PodState, StaticPod } from '../../src/agent/pod-types.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { components, componentsReady } from '../support/components.js';
import { waitFor } from '../support/proc.js';

const run = promisify(execFile);
const NODE = 'cp1';

function staticPod(manifest: V1Pod, hash: string): StaticPod {
  const name = `${manifest.metadata!.name}-${NODE}`;
  const pod: V1Pod = {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      name,
      annotations: { ...manifest.metadata?.annotations, 'kubernetes.io/config.hash': hash, 'kubernetes.io/config.source': 'file' },
    },
    spec: { ...manifest.spec!, nodeName: NODE },
  };
  return { uid: hash, name, namespace: 'kube-system', source: 'file', origin: `/etc/kubernetes/manifests/${manifest.metadata!.name}.yaml`, hash, pod };
}

function runningStatus(sp: StaticPod, restarts = 0): V1PodStatus {
  const started = new Date(Date.now() - 5000);
  return {
    phase: 'Running',
    startTime: started,
    conditions: ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'].map((type) => ({
      type,
      status: 'True',
      lastTransitionTime: started,
    })),
    containerStatuses: sp.pod.spec!.containers.map((c) => ({
      name: c.name,
      image: c.image!,
      imageID: '',
      ready: true,
      started: true,
      restartCount: restarts,
      state: { running: { startedAt: started } },
    })),
  };
}

describe('MirrorSync against a real kube-apiserver', { skip: !componentsReady() && 'components not prepared' }, () => {
  let cp: ControlPlane;
  let sync: MirrorSync;
  let admin: KubeClient;
  let states: PodState[] = [];
  let etcdSP: StaticPod;
  let schedSP: StaticPod;

  const kubectl = async (...args: string[]): Promise<string> =>
    (await run(components().binaries.kubectl.path, ['--kubeconfig', cp.host.path(cp.kubeconfig('super-admin')), ...args])).stdout;
  const getPod = async (name: string): Promise<V1Pod | undefined> => admin.core.readNamespacedPod({ name, namespace: 'kube-system' }).catch(() => undefined);

  before(async () => {
    cp = await startControlPlane();
    admin = await kubeClient(cp.kubeconfig('super-admin'), cp.host);
    const manifest = async (n: string): Promise<V1Pod> => parse(await cp.host.readText(`/etc/kubernetes/manifests/${n}.yaml`)) as V1Pod;
    etcdSP = staticPod(await manifest('etcd'), 'aaaa1111');
    schedSP = staticPod(await manifest('kube-scheduler'), 'bbbb2222');
    states = [
      { pod: etcdSP, status: runningStatus(etcdSP), restarts: 0, errors: [] },
      { pod: schedSP, status: runningStatus(schedSP), restarts: 0, errors: [] },
    ];
    sync = new MirrorSync({
      kubeconfig: cp.kubeconfig('kubelet'),
      host: cp.host,
      nodeName: NODE,
      nodeIP: '127.0.0.1',
      logger: memoryLogger(),
      states: () => states,
      kubeletVersion: 'v1.34.4',
      containerRuntimeVersion: 'kubestrap-process://0.1.0',
      kubeletPort: 10255,
      resyncMs: 1000,
    });
    sync.start();
  });

  after(async () => {
    await sync?.stop();
    await cp?.stop();
  });

  it('registers the node Ready with kubelet-style labels, info and lease', async () => {
    await waitFor('node registered', async () => (sync.health().nodeRegistered ? true : undefined), 30_000);
    const node = await admin.core.readNode({ name: NODE });
    assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], NODE);
    assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
    assert.ok(node.metadata?.labels?.['kubernetes.io/arch']);
    assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.34.4');
    assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10255);
    assert.deepEqual({ ...node.status?.addresses?.[0] }, { type: 'InternalIP', address: '127.0.0.1' });
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    const out = await kubectl('get', 'nodes', NODE, '--no-headers');
    assert.match(out, new RegExp(`^${NODE}\\s+Ready\\s+.*v1\\.34\\.4`));
    const lease = await waitFor('lease', () => admin.coordination.readNamespacedLease({ name: NODE, namespace: 'kube-node-lease' }), 15_000);
    assert.equal(lease.spec?.holderIdentity, NODE);
    assert.equal(lease.spec?.leaseDurationSeconds, 40);
    assert.equal(lease.metadata?.ownerReferences?.[0]?.uid, node.metadata?.uid);
  });

  it('creates mirror pods NodeRestriction accepts, with their status', async () => {
    const mirror = await waitFor(
      'etcd mirror Running',
      async () => {
        const p = await getPod(etcdSP.name);
        return p?.status?.phase === 'Running' ? p : undefined;
      },
      20_000,
    );
    assert.equal(mirror.metadata?.annotations?.['kubernetes.io/config.mirror'], 'aaaa1111');
    assert.equal(mirror.metadata?.annotations?.['kubernetes.io/config.hash'], 'aaaa1111');
    const owner = mirror.metadata?.ownerReferences ?? [];
    assert.equal(owner.length, 1);
    assert.equal(owner[0]?.kind, 'Node');
    assert.equal(owner[0]?.controller, true);
    assert.equal(mirror.spec?.nodeName, NODE);
    assert.equal(mirror.status?.containerStatuses?.[0]?.ready, true);
    const table = await kubectl('get', 'pods', '-n', 'kube-system', '--no-headers');
    assert.match(table, new RegExp(`${schedSP.name}\\s+1/1\\s+Running`));
  });

  it('recreates a mirror pod deleted through the API', async () => {
    const before = (await getPod(schedSP.name))!.metadata!.uid;
    const t0 = Date.now();
    await kubectl('delete', 'pod', '-n', 'kube-system', schedSP.name, '--wait=true');
    const again = await waitFor(
      'mirror recreated',
      async () => {
        const p = await getPod(schedSP.name);
        return p && p.metadata?.uid !== before && !p.metadata?.deletionTimestamp ? p : undefined;
      },
      10_000,
      100,
    );
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(again.metadata?.annotations?.['kubernetes.io/config.mirror'], 'bbbb2222');
  });

  it('replaces the mirror when the hash changes and patches restart counts', async () => {
    const changed: StaticPod = { ...schedSP, hash: 'cccc3333', uid: 'cccc3333', pod: staticPod(schedSP.pod, 'cccc3333').pod };
    changed.pod.metadata!.name = schedSP.name;
    states = [states[0]!, { pod: changed, status: runningStatus(changed, 2), restarts: 2, errors: ['invalid YAML in kube-scheduler.yaml: line 3'] }];
    sync.notify();
    const p = await waitFor(
      'mirror with new hash',
      async () => {
        const got = await getPod(schedSP.name);
        return got?.metadata?.annotations?.['kubernetes.io/config.mirror'] === 'cccc3333' && got.status?.containerStatuses?.[0]?.restartCount === 2
          ? got
          : undefined;
      },
      15_000,
    );
    assert.equal(p.metadata?.annotations?.['kubernetes.io/config.hash'], 'cccc3333');
    const events = await waitFor(
      'warning event on the mirror',
      async () => {
        const list = await admin.core.listNamespacedEvent({ namespace: 'kube-system', fieldSelector: `involvedObject.name=${schedSP.name}` });
        return list.items.some((e) => e.type === 'Warning' && e.message?.includes('invalid YAML')) ? list.items : undefined;
      },
      10_000,
    );
    assert.equal(events.filter((e) => e.message?.includes('invalid YAML')).length, 1);
  });

  it('rejects pods the scheduler binds to the node', async () => {
    // No controller-manager here: the ServiceAccount admission needs the default account made by hand.
    await admin.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } }).catch(() => undefined);
    await admin.core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'ordinary' }, spec: { nodeName: NODE, containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const p = await waitFor(
      'pod rejected',
      async () => {
        const got = await admin.core.readNamespacedPod({ name: 'ordinary', namespace: 'default' });
        return got.status?.reason === 'StaticPodsOnly' ? got : undefined;
      },
      15_000,
    );
    assert.equal(p.status?.phase, 'Pending', 'kept Pending, so no controller replaces it in a loop');
    assert.match(p.status?.message ?? '', /static pods only/);
    assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'StaticPodsOnly');
    // a delete is confirmed by the node, as a kubelet does for a pod it stopped
    await admin.core.deleteNamespacedPod({ name: 'ordinary', namespace: 'default' });
    await waitFor(
      'deleted pod gone',
      async () => ((await admin.core.readNamespacedPod({ name: 'ordinary', namespace: 'default' }).catch(() => undefined)) ? undefined : true),
      15_000,
    );
  });

  it('deletes the mirror when the static pod goes away', async () => {
    states = [states[0]!];
    sync.notify();
    await waitFor('scheduler mirror gone', async () => ((await getPod(schedSP.name)) ? undefined : true), 10_000);
    assert.ok(await getPod(etcdSP.name));
  });
});
