/**
 * The cri runtime against a real, private containerd with the prepared images: etcd as a
 * hostNetwork static pod with a hostPath data dir under a temp rootfs, kubelet-shaped labels and
 * annotations, CRI logs at the kubelet path, stop/remove, a crash reported with its exit code, and
 * clear errors for a dead socket and a missing image.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { PodState, StaticPod } from '../../src/agent/pod-types.js';
import { CriRuntime } from '../../src/agent/runtime/cri.js';
import { PodWorkers } from '../../src/agent/workers/index.js';
import type { ContainerRef, RuntimePod, SandboxRef } from '../../src/agent/runtime/types.js';
import { criClient, type CriClient } from '../../src/cri/client.js';
import { HostError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { components } from '../support/components.js';
import { startContainerd, type Containerd } from '../support/containerd.js';

const NODE = 'cri-node';
let containerd: Containerd;
let rootfs: string;
let host: Host;
let runtime: CriRuntime;
let client: CriClient;
let etcdImage: string;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function etcdPod(uid: string, extraArgs: string[] = []): Promise<RuntimePod> {
  const [client, peer] = [await freePort(), await freePort()];
  const name = `etcd-${NODE}`;
  const pod: V1Pod = {
    metadata: { name, namespace: 'kube-system', uid, labels: { component: 'etcd', tier: 'control-plane' }, annotations: { 'kubernetes.io/config.hash': uid } },
    spec: {
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      terminationGracePeriodSeconds: 30,
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'etcd',
          image: etcdImage,
          imagePullPolicy: 'IfNotPresent',
          command: [
            'etcd',
            '--name=default',
            '--data-dir=/var/lib/etcd',
            `--listen-client-urls=http://127.0.0.1:${client}`,
            `--advertise-client-urls=http://127.0.0.1:${client}`,
            `--listen-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
            `--initial-cluster=default=http://127.0.0.1:${peer}`,
            ...extraArgs,
          ],
          ports: [{ name: 'client', containerPort: client, hostPort: client }],
          volumeMounts: [{ name: 'etcd-data', mountPath: '/var/lib/etcd' }],
        },
      ],
      volumes: [{ name: 'etcd-data', hostPath: { path: `/var/lib/etcd-${uid}`, type: 'DirectoryOrCreate' } }],
    },
  };
  return { uid, name, namespace: 'kube-system', pod };
}

function logPath(pod: RuntimePod, container: string, attempt: number): string {
  return host.path(`/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}/${container}/${attempt}.log`);
}

function clientPort(pod: RuntimePod): number {
  return pod.pod.spec!.containers[0]!.ports![0]!.containerPort;
}

async function waitHealthy(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      const body = (await res.json()) as { health?: string };
      if (res.ok && body.health === 'true') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd on ${port} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  const c = components();
  etcdImage = c.images.etcd.ref;
  containerd = await startContainerd({ images: ['etcd'] });
  rootfs = await mkdtemp(path.join(os.tmpdir(), 'agent-cri-'));
  host = new Host(rootfs);
  runtime = new CriRuntime({ host, nodeName: NODE, endpoint: containerd.endpoint, nodeIP: '127.0.0.1' });
  client = criClient(containerd.endpoint);
  await runtime.init();
});

after(async () => {
  // Remove whatever a failed test left behind, then the runtime itself.
  if (client) {
    const { items } = await client.runtime.listPodSandbox({}).catch(() => ({ items: [] }));
    for (const s of items) {
      await client.runtime.stopPodSandbox({ podSandboxId: s.id }).catch(() => undefined);
      await client.runtime.removePodSandbox({ podSandboxId: s.id }).catch(() => undefined);
    }
    client.close();
  }
  await runtime?.close();
  await containerd?.stop();
  if (rootfs) await rm(rootfs, { recursive: true, force: true });
});

test('init names the endpoint and what to do when nothing answers', async () => {
  const dead = new CriRuntime({ host, nodeName: NODE, endpoint: `unix://${path.join(rootfs, 'nothing.sock')}` });
  try {
    await assert.rejects(dead.init(), (err: unknown) => {
      assert.ok(err instanceof HostError);
      assert.match(err.oneLine(), /nothing\.sock does not answer.*is containerd running/);
      return true;
    });
  } finally {
    await dead.close();
  }
});

test('init warns about an out-of-support containerd (1.x), not about 2.x', () => {
  const warnings = runtime.warnings();
  if (containerd.majorVersion >= 2) assert.deepEqual(warnings, []);
  else
    assert.match(warnings.join('\n'), /^containerd 1\.\d+\.\d+\S* is out of support; the kubelet drops containerd 1\.x in v1\.38: upgrade to containerd 2\.x$/);
});

const withImage = (image: string, imagePullPolicy: string): V1Container => ({ name: 'c', image, imagePullPolicy });
const FIELD = 'spec.containers[c]';

test('ensureImage: present image is kept, Never and failed pulls name the image', async () => {
  await runtime.ensureImage(withImage(etcdImage, 'IfNotPresent'), FIELD);
  await assert.rejects(runtime.ensureImage(withImage('registry.invalid/absent:1.0', 'Never'), FIELD), (err: unknown) => {
    assert.ok(err instanceof HostError);
    assert.match(
      err.oneLine(),
      /^spec\.containers\[c\]\.image: Container image "registry\.invalid\/absent:1\.0" is not present with pull policy of Never \(import it/,
    );
    return true;
  });
  await assert.rejects(runtime.ensureImage(withImage('registry.invalid/absent:1.0', 'IfNotPresent'), FIELD), (err: unknown) => {
    assert.ok(err instanceof HostError);
    assert.match(err.message, /cannot pull image registry\.invalid\/absent:1\.0/);
    return true;
  });
});

test('etcd runs as a hostNetwork pod: health, kubelet labels, CRI logs, stop and remove', async () => {
  const pod = await etcdPod('0a1b2c3d');
  await runtime.ensureImage(withImage(etcdImage, 'IfNotPresent'), FIELD);
  const sandbox: SandboxRef = await runtime.runPodSandbox(pod);
  // Idempotent: a ready sandbox of the pod is reused.
  assert.equal((await runtime.runPodSandbox(pod)).id, sandbox.id);

  const t0 = performance.now();
  const ref: ContainerRef = await runtime.startContainer(pod, sandbox, {
    container: pod.pod.spec!.containers[0]!,
    attempt: 0,
    logPath: logPath(pod, 'etcd', 0),
  });
  const startMs = performance.now() - t0;
  console.log(`# startContainer → running: ${startMs.toFixed(0)} ms`);
  assert.equal((await runtime.status(ref)).state, 'running');
  await waitHealthy(clientPort(pod));

  // What crictl shows: kubelet names, labels and annotations.
  const { items } = await client.runtime.listPodSandbox({ filter: { id: sandbox.id } });
  assert.deepEqual(items[0]?.metadata, { name: pod.name, uid: pod.uid, namespace: 'kube-system', attempt: 0 });
  assert.equal(items[0]?.labels['io.kubernetes.pod.name'], pod.name);
  assert.equal(items[0]?.labels.component, 'etcd');
  assert.equal(items[0]?.annotations['kubernetes.io/config.hash'], pod.uid);
  const { containers } = await client.runtime.listContainers({ filter: { podSandboxId: sandbox.id } });
  assert.equal(containers.length, 1);
  const c = containers[0]!;
  assert.deepEqual(c.metadata, { name: 'etcd', attempt: 0 });
  assert.deepEqual(
    { ...c.labels },
    {
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': 'kube-system',
      'io.kubernetes.pod.uid': pod.uid,
      'io.kubernetes.container.name': 'etcd',
      'io.kubestrap.agent': NODE,
    },
  );
  assert.equal(c.annotations['io.kubernetes.container.restartCount'], '0');
  assert.equal(c.annotations['io.kubernetes.container.terminationMessagePath'], '/dev/termination-log');
  assert.match(c.annotations['io.kubernetes.container.hash'] ?? '', /^[0-9a-f]+$/);
  assert.match(c.annotations['io.kubernetes.container.ports'] ?? '', /"containerPort"/);

  // The hostPath data dir is under the rootfs; the log is CRI-formatted at the kubelet path.
  assert.ok((await readdir(host.path(`/var/lib/etcd-${pod.uid}`))).includes('member'));
  const log = await readFile(logPath(pod, 'etcd', 0), 'utf8');
  assert.match(log.split('\n')[0] ?? '', /^\d{4}-\d\d-\d\dT\S+ (stdout|stderr) [FP] /);

  const managed = await runtime.listManaged();
  assert.deepEqual(
    managed.map((m) => ({ id: m.ref.id, name: m.ref.name, podUid: m.podUid, running: m.running, sandboxId: m.sandboxId })),
    [{ id: ref.id, name: 'etcd', podUid: pod.uid, running: true, sandboxId: sandbox.id }],
  );

  const exec = await runtime.exec(ref, ['etcd', '--version'], 10_000);
  assert.equal(exec.exitCode, 0);
  assert.ok(exec.output.includes(`etcd Version: ${components().etcdVersion}`), exec.output);

  const waited = runtime.waitExit(ref);
  await runtime.stopContainer(ref, 10);
  const stopped = await waited;
  assert.equal(stopped.state, 'exited');
  await runtime.removeContainer(ref);
  await runtime.removeContainer(ref); // idempotent
  assert.deepEqual(await runtime.status(ref), { state: 'unknown', reason: 'ContainerNotFound' });
  await runtime.stopPodSandbox(pod, sandbox);
  await runtime.removePodSandbox(pod, sandbox);
  await runtime.removePodSandbox(pod, sandbox); // idempotent
  assert.deepEqual(await runtime.listManaged(), []);
});

test('a crashing container is reported exited with its exit code, fast', async () => {
  const pod = await etcdPod('deadbeef', ['--no-such-flag']);
  const sandbox = await runtime.runPodSandbox(pod);
  try {
    const ref = await runtime.startContainer(pod, sandbox, { container: pod.pod.spec!.containers[0]!, attempt: 0, logPath: logPath(pod, 'etcd', 0) });
    const state = await runtime.waitExit(ref);
    const seenAt = Date.now();
    assert.equal(state.state, 'exited');
    if (state.state !== 'exited') return;
    assert.notEqual(state.exitCode, 0);
    assert.equal(state.reason, 'Error');
    const lagMs = seenAt - state.finishedAt.getTime();
    console.log(`# exit → waitExit resolved: ${lagMs} ms`);
    assert.match(await readFile(logPath(pod, 'etcd', 0), 'utf8'), /no-such-flag/);

    // The next attempt gets a new container beside the old one, as the kubelet does.
    const ref1 = await runtime.startContainer(pod, sandbox, { container: pod.pod.spec!.containers[0]!, attempt: 1, logPath: logPath(pod, 'etcd', 1) });
    assert.notEqual(ref1.id, ref.id);
    assert.equal((await runtime.waitExit(ref1)).state, 'exited');
    await runtime.removeContainer(ref);
    await runtime.removeContainer(ref1);
  } finally {
    await runtime.stopPodSandbox(pod, sandbox);
    await runtime.removePodSandbox(pod, sandbox);
  }
});

function staticPod(rp: RuntimePod): StaticPod {
  return { uid: rp.uid, name: rp.name, namespace: rp.namespace, source: 'file', origin: '/etc/kubernetes/manifests/etcd.yaml', hash: rp.uid, pod: rp.pod };
}

/** The etcd container's view in the latest PodState once `pred` holds. */
function waitState(workers: PodWorkers, pred: (s: PodState) => boolean, timeoutMs = 20_000): Promise<PodState> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const s = workers.states()[0];
      if (s && pred(s)) {
        clearTimeout(timer);
        off();
        resolve(s);
        return true;
      }
      return false;
    };
    const off = workers.onChange(() => void check());
    const timer = setTimeout(() => {
      off();
      reject(new Error(`pod state not reached: ${JSON.stringify(workers.states()[0]?.status.containerStatuses)}`));
    }, timeoutMs);
    check();
  });
}

function etcdRunning(restarts: number) {
  return (s: PodState): boolean => {
    const cs = s.status.containerStatuses?.[0];
    return cs?.restartCount === restarts && cs.state?.running !== undefined;
  };
}

async function containerPid(id: string): Promise<number> {
  const { info } = await client.runtime.containerStatus({ containerId: id, verbose: true });
  return (JSON.parse(info.info ?? '{}') as { pid: number }).pid;
}

test('PodWorkers on the cri runtime: start, fast restart after a crash, adoption by a new agent', async () => {
  const rp = await etcdPod('c0ffee01');
  const pod = staticPod(rp);
  const stateDir = '/var/lib/kubestrap/agent';
  const workers = new PodWorkers({ runtime, host, nodeName: NODE, nodeIP: '127.0.0.1', stateDir });
  let next: { workers: PodWorkers; runtime: CriRuntime } | undefined;
  try {
    workers.apply({ type: 'add', pod });
    const first = await waitState(workers, etcdRunning(0));
    await waitHealthy(clientPort(rp));
    const id0 = first.status.containerStatuses![0]!.containerID!.replace('cri://', '');

    // Crash: kill etcd from the host; the worker sees the exit and starts attempt 1 at once.
    const pid = await containerPid(id0);
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const second = await waitState(workers, etcdRunning(1));
    console.log(`# crash → running again: ${(performance.now() - killedAt).toFixed(0)} ms`);
    const id1 = second.status.containerStatuses![0]!.containerID!.replace('cri://', '');
    assert.notEqual(id1, id0);
    assert.equal(second.status.containerStatuses![0]!.lastState?.terminated?.exitCode, 137);
    await waitHealthy(clientPort(rp));

    // The agent dies (its runtime connection closes, containers keep running); a new agent with the
    // same state dir adopts the running container instead of starting another.
    await runtime.close();
    const runtime2 = new CriRuntime({ host, nodeName: NODE, endpoint: containerd.endpoint, nodeIP: '127.0.0.1' });
    await runtime2.init();
    next = { runtime: runtime2, workers: new PodWorkers({ runtime: runtime2, host, nodeName: NODE, nodeIP: '127.0.0.1', stateDir }) };
    await next.workers.adopt([pod]);
    const adopted = await waitState(next.workers, etcdRunning(1));
    assert.equal(adopted.status.containerStatuses![0]!.containerID, `cri://${id1}`);
    const running = (await runtime2.listManaged()).filter((m) => m.running);
    assert.deepEqual(
      running.map((m) => m.ref.id),
      [id1],
    );
    await waitHealthy(clientPort(rp));

    await next.workers.stopAll();
    assert.deepEqual(
      (await runtime2.listManaged()).filter((m) => m.running),
      [],
    );
  } finally {
    await next?.workers.stopAll().catch(() => undefined);
    if (next) {
      // Later tests and after() use `runtime`: hand them the live one.
      runtime = next.runtime;
    }
  }
});
