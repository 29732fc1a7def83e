import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ContainerStartError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import type { StaticPod } from '../../src/agent/pod-types.js';
import type { ProbeRunner } from '../../src/agent/probes/prober.js';
import type {
  ContainerRef,
  ContainerRunState,
  ContainerStart,
  ExecResult,
  ManagedContainer,
  Runtime,
  RuntimePod,
  SandboxRef,
} from '../../src/agent/runtime/types.js';
import { CrashBackoff } from '../../src/agent/workers/backoff.js';
import type { Clock } from '../../src/agent/workers/clock.js';
import { PodWorkers } from '../../src/agent/workers/index.js';

/** A clock whose time moves only when the test says so. */
class FakeClock implements Clock {
  t = 1_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    await flush();
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

interface FakeContainer {
  ref: ContainerRef;
  pod: string;
  exit: (code: number) => void;
  done?: ContainerRunState;
  exited: Promise<ContainerRunState>;
}

/** Records every runtime call in order; containers exit when the test tells them to. */
class FakeRuntime implements Runtime {
  readonly name = 'process' as const;
  readonly log: string[] = [];
  readonly containers: FakeContainer[] = [];
  private n = 0;
  async init(): Promise<void> {}
  /** Images that are not present: ensureImage refuses them as the process runtime does. */
  readonly missing = new Set<string>();
  async ensureImage(c: V1Container, field: string): Promise<void> {
    if (this.missing.has(c.image ?? '')) {
      throw new ContainerStartError('ErrImageNeverPull', `Container image "${c.image}" is not present`, { field: `${field}.image`, hint: 'import it' });
    }
  }
  async runPodSandbox(pod: RuntimePod): Promise<SandboxRef> {
    this.log.push(`sandbox ${pod.uid}`);
    return { id: `sb-${pod.uid}` };
  }
  async stopPodSandbox(pod: RuntimePod): Promise<void> {
    this.log.push(`stopsandbox ${pod.uid}`);
  }
  async removePodSandbox(): Promise<void> {}
  async startContainer(pod: RuntimePod, _sb: SandboxRef, start: ContainerStart): Promise<ContainerRef> {
    const ref = { id: `c${++this.n}`, name: start.container.name, attempt: start.attempt };
    let exit!: (code: number) => void;
    const fc: FakeContainer = {
      ref,
      pod: pod.uid,
      exit: (code) => exit(code),
      exited: new Promise<ContainerRunState>((resolve) => {
        exit = (code) => {
          if (fc.done) return;
          fc.done = { state: 'exited', finishedAt: new Date(), exitCode: code, reason: code === 0 ? 'Completed' : 'Error' };
          resolve(fc.done);
        };
      }),
    };
    this.containers.push(fc);
    this.log.push(`start ${pod.uid}/${ref.name}#${ref.attempt}`);
    return ref;
  }
  find(ref: ContainerRef): FakeContainer {
    return this.containers.find((c) => c.ref.id === ref.id)!;
  }
  /** The latest container of that name. */
  latest(name: string): FakeContainer {
    return [...this.containers].reverse().find((c) => c.ref.name === name)!;
  }
  async stopContainer(ref: ContainerRef): Promise<void> {
    const c = this.find(ref);
    if (!c.done) this.log.push(`stop ${c.pod}/${ref.name}#${ref.attempt}`);
    c.exit(143);
  }
  async removeContainer(): Promise<void> {}
  async status(ref: ContainerRef): Promise<ContainerRunState> {
    return this.find(ref).done ?? { state: 'running', startedAt: new Date() };
  }
  waitExit(ref: ContainerRef, signal?: AbortSignal): Promise<ContainerRunState> {
    const c = this.find(ref);
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      void c.exited.then(resolve);
    });
  }
  async exec(): Promise<ExecResult> {
    return { exitCode: 0, output: '' };
  }
  async listManaged(): Promise<ManagedContainer[]> {
    return this.containers
      .filter((c) => !c.done)
      .map((c) => ({ ref: c.ref, podUid: c.pod, podName: c.pod, namespace: 'default', sandboxId: `sb-${c.pod}`, running: true }));
  }
  async close(): Promise<void> {}
}

function staticPod(uid: string, spec: { containers: V1Container[]; initContainers?: V1Container[]; restartPolicy?: string }): StaticPod {
  const pod: V1Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-node1', namespace: 'default', uid }, spec: { hostNetwork: true, ...spec } };
  return { uid, name: 'web-node1', namespace: 'default', source: 'file', origin: '/etc/kubernetes/manifests/web.yaml', hash: uid, pod };
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The runtime as a crashed agent sees it: after sever(), nothing it waits for ever arrives. */
class SeverableRuntime extends FakeRuntime {
  severed = false;
  constructor(private readonly inner: FakeRuntime) {
    super();
  }
  override async runPodSandbox(pod: RuntimePod): Promise<SandboxRef> {
    return this.inner.runPodSandbox(pod);
  }
  override async startContainer(pod: RuntimePod, sb: SandboxRef, start: ContainerStart): Promise<ContainerRef> {
    return this.inner.startContainer(pod, sb, start);
  }
  override waitExit(ref: ContainerRef, signal?: AbortSignal): Promise<ContainerRunState> {
    return new Promise((resolve, reject) => {
      this.inner.waitExit(ref, signal).then((s) => {
        if (!this.severed) resolve(s);
      }, reject);
    });
  }
}

async function setup(probeRunner?: ProbeRunner): Promise<{ rt: FakeRuntime; clock: FakeClock; workers: PodWorkers; host: Host }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-worker-'));
  dirs.push(dir);
  const rt = new FakeRuntime();
  const clock = new FakeClock();
  const host = new Host(dir);
  const workers = new PodWorkers({ runtime: rt, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock, probeRunner });
  return { rt, clock, workers, host };
}

const app = (name = 'app'): V1Container => ({ name, image: 'example/app:1' });

describe('CrashBackoff', () => {
  it('restarts the first crash at once, then 10s doubling to 5min, reset after 10min of running', () => {
    const b = new CrashBackoff();
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      now += 1000; // each run lasts 1s
      const d = b.delay(now, now);
      delays.push(d / 1000);
      now += d;
      b.restarted(now);
    }
    assert.deepEqual(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
    now += 601_000; // a long healthy run
    assert.equal(b.delay(now, now), 0);
    b.restarted(now);
    now += 1000;
    assert.equal(b.delay(now, now), 10_000);
  });
});

describe('PodWorkers', () => {
  it('restarts a crashed container immediately the first time, then backs off', async () => {
    const { rt, clock, workers } = await setup();
    workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app()] }) });
    await clock.advance(0);
    assert.deepEqual(rt.log, ['sandbox u1', 'start u1/app#0']);
    assert.equal(workers.states()[0]!.status.phase, 'Running');
    rt.latest('app').exit(1);
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-1), ['start u1/app#1'], 'first restart is immediate');
    rt.latest('app').exit(2);
    await clock.advance(0);
    const st = workers.states()[0]!.status.containerStatuses![0]!;
    assert.equal(st.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.match(st.state?.waiting?.message ?? '', /back-off 10s/);
    assert.equal(st.lastState?.terminated?.exitCode, 2);
    assert.equal(st.lastState?.terminated?.reason, 'Error');
    assert.equal(st.restartCount, 1);
    await clock.advance(9_999);
    assert.equal(rt.log.filter((l) => l.startsWith('start')).length, 2);
    await clock.advance(1);
    assert.deepEqual(rt.log.slice(-1), ['start u1/app#2']);
    rt.latest('app').exit(1);
    await clock.advance(19_999);
    assert.equal(rt.log.filter((l) => l.startsWith('start')).length, 3);
    await clock.advance(1);
    assert.equal(rt.log.filter((l) => l.startsWith('start')).length, 4);
    assert.equal(workers.states()[0]!.restarts, 3);
    assert.equal(workers.metrics().restartsTotal, 3);
    await workers.stopAll();
  });

  it('a container that cannot start waits with the kubelet reason and message, retried with backoff', async () => {
    const { rt, clock, workers } = await setup();
    let failures = 2;
    const start = rt.startContainer.bind(rt);
    rt.startContainer = async (pod, sb, st) => {
      if (failures-- > 0)
        throw new ContainerStartError('CreateContainerError', 'cannot execute /opt/bin/app: no such file', { field: 'spec.containers[app].command' });
      return start(pod, sb, st);
    };
    workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app()] }) });
    await clock.advance(0);
    const waiting = (): { reason?: string; message?: string } | undefined => workers.states()[0]!.status.containerStatuses![0]!.state?.waiting;
    assert.deepEqual(waiting(), { reason: 'CreateContainerError', message: 'cannot execute /opt/bin/app: no such file' });
    assert.equal(workers.states()[0]!.status.phase, 'Pending');
    assert.match(workers.states()[0]!.errors.join('\n'), /container app: cannot execute \/opt\/bin\/app/);
    await clock.advance(10_000);
    assert.equal(waiting()?.reason, 'CreateContainerError', 'still failing after one retry');
    await clock.advance(20_000);
    assert.equal(workers.states()[0]!.status.phase, 'Running');
    assert.deepEqual(workers.states()[0]!.errors, []);
    await workers.stopAll();
  });

  it('restart(): stops each running container and starts it again at once, even in a backoff streak', async () => {
    const { rt, clock, workers } = await setup();
    workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app('a'), app('b')] }) });
    await clock.advance(0);
    rt.latest('a').exit(1); // a crash: the next crash would back off
    await clock.advance(0);
    const pending = workers.restart('u1', 'certificates renewed');
    assert.ok(pending);
    await clock.advance(0);
    assert.equal(await pending, 2);
    assert.deepEqual(rt.log.slice(-4).sort(), ['start u1/a#2', 'start u1/b#1', 'stop u1/a#1', 'stop u1/b#0']);
    const a = workers.states()[0]!.status.containerStatuses!.find((c) => c.name === 'a')!;
    assert.equal(a.restartCount, 2);
    assert.match(a.lastState?.terminated?.message ?? '', /restarted by the kubestrap agent: certificates renewed/);
    assert.equal(workers.ready('u1'), true);
    assert.equal(workers.restart('nope', 'x'), undefined);
    await workers.stopAll();
  });

  it('continues restart counts after the highest <n>.log of an earlier life of the same pod', async () => {
    const { rt, clock, workers, host } = await setup();
    const dir = host.path('/var/log/pods/default_web-node1_r1/app');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '0.log'), '');
    await writeFile(path.join(dir, '1.log'), '');
    workers.apply({ type: 'add', pod: staticPod('r1', { containers: [app()] }) });
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-1), ['start r1/app#2']);
    await workers.stopAll();
  });

  it('honours restartPolicy Never and OnFailure', async () => {
    const { rt, clock, workers } = await setup();
    workers.apply({ type: 'add', pod: staticPod('never', { containers: [app()], restartPolicy: 'Never' }) });
    await clock.advance(0);
    rt.latest('app').exit(1);
    await clock.advance(60_000);
    assert.equal(rt.log.filter((l) => l.startsWith('start')).length, 1);
    assert.equal(workers.states()[0]!.status.phase, 'Failed');
    await workers.stopAll();

    const b = await setup();
    b.workers.apply({ type: 'add', pod: staticPod('onf', { containers: [app()], restartPolicy: 'OnFailure' }) });
    await b.clock.advance(0);
    b.rt.latest('app').exit(0);
    await b.clock.advance(60_000);
    assert.equal(b.rt.log.filter((l) => l.startsWith('start')).length, 1);
    assert.equal(b.workers.states()[0]!.status.phase, 'Succeeded');
    await b.workers.stopAll();
  });

  it('runs init containers in order, retrying a failed one, before the app containers', async () => {
    const { rt, clock, workers } = await setup();
    workers.apply({ type: 'add', pod: staticPod('i1', { initContainers: [app('init-a'), app('init-b')], containers: [app()] }) });
    await clock.advance(0);
    assert.deepEqual(rt.log, ['sandbox i1', 'start i1/init-a#0']);
    assert.equal(workers.states()[0]!.status.phase, 'Pending');
    rt.latest('init-a').exit(1);
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-1), ['start i1/init-a#1']);
    rt.latest('init-a').exit(0);
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-1), ['start i1/init-b#0']);
    rt.latest('init-b').exit(0);
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-1), ['start i1/app#0']);
    const status = workers.states()[0]!.status;
    assert.equal(status.phase, 'Running');
    assert.equal(status.conditions?.find((c) => c.type === 'Initialized')?.status, 'True');
    assert.equal(status.initContainerStatuses?.[0]?.restartCount, 1);
    await workers.stopAll();
  });

  it('stops the old pod completely before the new one starts on update; remove stops at once', async () => {
    const { rt, clock, workers } = await setup();
    const v1 = staticPod('v1', { containers: [app('etcd')] });
    const v2 = staticPod('v2', { containers: [app('etcd')] });
    workers.apply({ type: 'add', pod: v1 });
    await clock.advance(0);
    workers.apply({ type: 'update', pod: v2, previous: v1 });
    await clock.advance(0);
    await workers.settled();
    await clock.advance(0);
    assert.deepEqual(rt.log, ['sandbox v1', 'start v1/etcd#0', 'stop v1/etcd#0', 'stopsandbox v1', 'sandbox v2', 'start v2/etcd#0']);
    assert.deepEqual(
      workers.states().map((s) => s.pod.uid),
      ['v2'],
    );
    workers.apply({ type: 'remove', pod: v2 });
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(-2), ['stop v2/etcd#0', 'stopsandbox v2']);
    assert.equal(workers.states().length, 0);
  });

  it('an update whose image is missing keeps the old pod running; it is replaced once the image is present', async () => {
    const { rt, clock, workers } = await setup();
    const v1 = staticPod('v1', { containers: [app('etcd')] });
    const v2 = staticPod('v2', { containers: [{ name: 'etcd', image: 'example/app:2' }] });
    rt.missing.add('example/app:2');
    workers.apply({ type: 'add', pod: v1 });
    await clock.advance(0);
    workers.apply({ type: 'update', pod: v2, previous: v1 });
    await clock.advance(0);
    assert.deepEqual(rt.log, ['sandbox v1', 'start v1/etcd#0'], 'nothing stopped');
    const st = workers.states();
    assert.deepEqual(
      st.map((s) => s.pod.uid),
      ['v2'],
      'the mirror shows the version the manifest asks for',
    );
    const waiting = st[0]!.status.containerStatuses![0]!.state?.waiting;
    assert.equal(waiting?.reason, 'ErrImageNeverPull');
    assert.match(
      waiting?.message ?? '',
      /spec\.containers\[etcd\]\.image: Container image "example\/app:2" is not present \(import it\); the running pod \(config\.hash v1\) keeps running/,
    );
    assert.equal(workers.metrics().runningContainers, 1, 'the old container still counts');
    await clock.advance(60_000);
    assert.equal(rt.log.length, 2, 'still waiting, still running');
    rt.missing.delete('example/app:2');
    await clock.advance(300_000);
    await workers.settled();
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(2), ['stop v1/etcd#0', 'stopsandbox v1', 'sandbox v2', 'start v2/etcd#0']);
    assert.equal(workers.states()[0]!.status.phase, 'Running');
    await workers.stopAll();
  });

  it('undoing an edit whose image is missing keeps the old pod; a remove meanwhile stops it', async () => {
    const { rt, clock, workers } = await setup();
    const v1 = staticPod('v1', { containers: [app('etcd')] });
    const v2 = staticPod('v2', { containers: [{ name: 'etcd', image: 'example/app:2' }] });
    const v3 = staticPod('v3', { containers: [{ name: 'etcd', image: 'example/app:3' }] });
    rt.missing.add('example/app:2').add('example/app:3');
    workers.apply({ type: 'add', pod: v1 });
    await clock.advance(0);
    workers.apply({ type: 'update', pod: v2, previous: v1 });
    await clock.advance(0);
    workers.apply({ type: 'update', pod: v3, previous: v2 });
    await workers.settled(); // v2, still staging, stops (its checkpoint removal is real I/O) before v3 stages
    await clock.advance(0);
    assert.match(workers.states()[0]!.status.containerStatuses![0]!.state?.waiting?.message ?? '', /app:3.*config\.hash v1\) keeps running/);
    workers.apply({ type: 'update', pod: v1, previous: v3 });
    await clock.advance(0);
    await workers.settled();
    assert.deepEqual(rt.log, ['sandbox v1', 'start v1/etcd#0'], 'the running pod never stopped');
    assert.deepEqual(
      workers.states().map((s) => [s.pod.uid, s.status.phase]),
      [['v1', 'Running']],
    );
    workers.apply({ type: 'update', pod: v2, previous: v1 });
    await clock.advance(0);
    workers.apply({ type: 'remove', pod: v2 });
    await clock.advance(0);
    await workers.settled();
    assert.deepEqual(rt.log.slice(2), ['stop v1/etcd#0', 'stopsandbox v1']);
    assert.equal(workers.metrics().runningContainers, 0);
  });

  it('start-after waits for its URL (shown as the waiting message); stopAll stops dependants first', async () => {
    let answer = 503;
    const server = http.createServer((_req, res) => {
      res.statusCode = answer;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const { rt, clock, workers } = await setup();
      const withOrder = (uid: string, containerPort: number, annotations: Record<string, string>): StaticPod => {
        const p = staticPod(uid, { containers: [{ ...app(uid), ports: [{ containerPort }] }] });
        p.pod.metadata!.annotations = annotations;
        return p;
      };
      const etcd = withOrder('etcd', 65001, {});
      const api = withOrder('api', port, { 'kubestrap.io/depends-on': 'http://127.0.0.1:65001/readyz' });
      const cm = withOrder('cm', 65002, { 'kubestrap.io/start-after': `http://127.0.0.1:${port}/livez` });
      for (const pod of [cm, api, etcd]) workers.apply({ type: 'add', pod });
      await clock.advance(0);
      assert.deepEqual(rt.log.filter((l) => l.startsWith('start ')).sort(), ['start api/api#0', 'start etcd/etcd#0'], 'depends-on does not wait');
      const waiting = workers.states().find((s) => s.pod.uid === 'cm')!.status.containerStatuses![0]!.state?.waiting;
      assert.match(waiting?.message ?? '', /waiting for http:\/\/127\.0\.0\.1:\d+\/livez to answer \(kubestrap\.io\/start-after\)/);
      answer = 200;
      while (!rt.log.includes('start cm/cm#0')) await new Promise((r) => setTimeout(r, 20));
      await workers.stopAll();
      assert.deepEqual(
        rt.log.filter((l) => l.startsWith('stop ')),
        ['stop cm/cm#0', 'stop api/api#0', 'stop etcd/etcd#0'],
      );
    } finally {
      server.close();
    }
  });

  it('kills and restarts a container whose liveness probe fails failureThreshold times', async () => {
    let healthy = true;
    const runner: ProbeRunner = async () => (healthy ? { ok: true, message: '' } : { ok: false, message: 'HTTP probe failed with statuscode: 500' });
    const { rt, clock, workers } = await setup(runner);
    const c: V1Container = {
      ...app(),
      livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10, failureThreshold: 3 },
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    };
    workers.apply({ type: 'add', pod: staticPod('p1', { containers: [c] }) });
    await clock.advance(0);
    assert.equal(workers.states()[0]!.status.containerStatuses![0]!.ready, true, 'readiness succeeded at once');
    assert.equal(workers.states()[0]!.status.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
    healthy = false;
    await clock.advance(10_000);
    await clock.advance(10_000);
    assert.equal(rt.log.filter((l) => l.startsWith('stop')).length, 0, 'two failures are below the threshold');
    assert.equal(workers.states()[0]!.status.containerStatuses![0]!.ready, false, 'readiness failed 3 times');
    assert.ok(workers.states()[0]!.errors.some((e) => /Liveness probe failed: HTTP probe failed with statuscode: 500/.test(e)));
    await clock.advance(10_000);
    assert.deepEqual(rt.log.slice(-2), ['stop p1/app#0', 'start p1/app#1']);
    const st = workers.states()[0]!.status.containerStatuses![0]!;
    assert.equal(st.restartCount, 1);
    assert.match(st.lastState?.terminated?.message ?? '', /failed liveness probe, will be restarted/);
    assert.equal(workers.metrics().probeFailuresTotal, 1);
    await workers.stopAll();
  });

  it('startup probe gates liveness and readiness', async () => {
    let started = false;
    const calls: string[] = [];
    const runner: ProbeRunner = async (probe) => {
      calls.push(probe.httpGet?.path ?? '?');
      return { ok: probe.httpGet?.path !== '/startup' || started, message: 'not yet' };
    };
    const { clock, workers } = await setup(runner);
    const c: V1Container = {
      ...app(),
      startupProbe: { httpGet: { path: '/startup', port: 1 }, periodSeconds: 1, failureThreshold: 100 },
      livenessProbe: { httpGet: { path: '/live', port: 1 } },
      readinessProbe: { httpGet: { path: '/ready', port: 1 } },
    };
    workers.apply({ type: 'add', pod: staticPod('s1', { containers: [c] }) });
    await clock.advance(3_000);
    assert.ok(!calls.includes('/live') && !calls.includes('/ready'));
    assert.equal(workers.states()[0]!.status.containerStatuses![0]!.started, false);
    started = true;
    await clock.advance(1_000);
    assert.equal(workers.states()[0]!.status.containerStatuses![0]!.started, true);
    assert.ok(calls.includes('/live') && calls.includes('/ready'));
    await workers.stopAll();
  });

  it('adopts running containers of unchanged pods and stops those of removed pods', async () => {
    const { rt, clock, host } = await setup();
    const crashing = new SeverableRuntime(rt);
    const workers = new PodWorkers({ runtime: crashing, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    const keep = staticPod('keep', { containers: [app()] });
    const gone = staticPod('gone', { containers: [app()] });
    workers.apply({ type: 'add', pod: keep });
    workers.apply({ type: 'add', pod: gone });
    await clock.advance(0);
    await workers.settled();
    crashing.severed = true;
    workers.detachAll();
    // the agent "crashes": a new PodWorkers on the same runtime and state dir
    const next = new PodWorkers({ runtime: rt, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    await next.adopt([keep]);
    await clock.advance(0);
    const starts = rt.log.filter((l) => l.startsWith('start'));
    assert.deepEqual(starts, ['start keep/app#0', 'start gone/app#0'], 'nothing started twice');
    assert.ok(rt.log.includes('stop gone/app#0'));
    assert.equal(next.states()[0]!.status.containerStatuses![0]!.state?.running !== undefined, true);
    rt.latest('app').exit(1); // latest is keep's (gone's was stopped)
    rt.containers.find((c) => c.pod === 'keep')!.exit(1);
    await clock.advance(0);
    assert.deepEqual(rt.log.filter((l) => l.startsWith('start')).slice(-1), ['start keep/app#1'], 'adopted container exit is watched');
    await next.stopAll();
  });

  it('an agent restarted after an edit keeps the old containers until the new version can start', async () => {
    const { rt, clock, host } = await setup();
    const crashing = new SeverableRuntime(rt);
    const workers = new PodWorkers({ runtime: crashing, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    const v1 = staticPod('v1', { containers: [app('etcd')] });
    const v2 = staticPod('v2', { containers: [{ name: 'etcd', image: 'example/app:2' }] });
    workers.apply({ type: 'add', pod: v1 });
    await clock.advance(0);
    await workers.settled();
    crashing.severed = true;
    workers.detachAll();
    // the manifest was edited to a missing image while the agent was away
    rt.missing.add('example/app:2');
    const next = new PodWorkers({ runtime: rt, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    await next.adopt([v2]);
    await clock.advance(0);
    assert.deepEqual(rt.log, ['sandbox v1', 'start v1/etcd#0'], 'the old container keeps running');
    assert.match(next.states()[0]!.status.containerStatuses![0]!.state?.waiting?.message ?? '', /config\.hash v1\) keeps running/);
    rt.missing.delete('example/app:2');
    await clock.advance(300_000);
    await next.settled();
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(2), ['stop v1/etcd#0', 'stopsandbox v1', 'sandbox v2', 'start v2/etcd#0']);
    await next.stopAll();
  });

  it('reset (adopt nothing after a restart) stops in waves from the checkpointed order', async () => {
    const { rt, clock, host } = await setup();
    const crashing = new SeverableRuntime(rt);
    const workers = new PodWorkers({ runtime: crashing, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    const etcd = staticPod('etcd', { containers: [{ ...app('etcd'), ports: [{ containerPort: 65001 }] }] });
    const api = staticPod('api', { containers: [{ ...app('api'), ports: [{ containerPort: 65003 }] }] });
    api.pod.metadata!.annotations = { 'kubestrap.io/depends-on': 'http://127.0.0.1:65001/readyz' };
    for (const pod of [etcd, api]) workers.apply({ type: 'add', pod });
    await clock.advance(0);
    await workers.settled();
    await new Promise((r) => setTimeout(r, 50)); // checkpoint writes
    crashing.severed = true;
    workers.detachAll();
    const next = new PodWorkers({ runtime: rt, host, nodeName: 'node1', nodeIP: '10.0.0.5', clock });
    await next.adopt([]);
    assert.deepEqual(
      rt.log.filter((l) => l.startsWith('stop ')),
      ['stop api/api#0', 'stop etcd/etcd#0'],
    );
  });

  it('checks every image while the sandbox is created, and asks once per container', async () => {
    const { rt, clock, workers } = await setup();
    let release!: () => void;
    const sandboxGate = new Promise<void>((r) => (release = r));
    const checks: string[] = [];
    const sandbox = rt.runPodSandbox.bind(rt);
    rt.runPodSandbox = async (pod) => {
      rt.log.push('sandbox begun');
      await sandboxGate;
      return sandbox(pod);
    };
    rt.ensureImage = async (c) => {
      checks.push(c.name);
      rt.log.push(`image ${c.name}`);
    };
    workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app('a'), app('b')] }) });
    await clock.advance(0);
    assert.deepEqual(rt.log, ['image a', 'image b', 'sandbox begun'], 'both image checks run while the sandbox is pending');
    release();
    await clock.advance(0);
    assert.deepEqual(rt.log.slice(3), ['sandbox u1', 'start u1/a#0', 'start u1/b#0']);
    assert.deepEqual(checks, ['a', 'b'], 'the first start takes the check begun with the sandbox');
    rt.latest('a').exit(1);
    await clock.advance(0);
    assert.deepEqual(checks, ['a', 'b', 'a'], 'a restart asks again');
    await workers.stopAll();
  });

  for (const reason of ['ErrImageNeverPull', 'ErrImagePull']) {
    it(`an image error (${reason}) begun with the sandbox waits with the same reason and message, retried with backoff`, async () => {
      const { rt, clock, workers } = await setup();
      const err = new ContainerStartError(reason, 'Container image "example/app:1" is not present', { field: 'spec.containers[app].image', hint: 'import it' });
      let calls = 0;
      rt.ensureImage = async () => {
        calls++;
        if (calls === 1) throw err;
      };
      workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app()] }) });
      await clock.advance(0);
      const st = workers.states()[0]!;
      assert.deepEqual(st.status.containerStatuses![0]!.state?.waiting, { reason, message: err.message });
      assert.equal(st.status.phase, 'Pending');
      assert.deepEqual(st.errors, [`container app: ${err.message}`]);
      assert.deepEqual(rt.log, ['sandbox u1'], 'the sandbox exists, no container started');
      assert.equal(calls, 1);
      await clock.advance(10_000);
      assert.equal(calls, 2);
      assert.equal(workers.states()[0]!.status.phase, 'Running');
      assert.deepEqual(workers.states()[0]!.errors, []);
      await workers.stopAll();
    });
  }

  it('a sandbox failure leaves no unhandled rejection from the image check begun with it', async () => {
    const { rt, clock, workers } = await setup();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      rt.runPodSandbox = async () => {
        throw new Error('RunPodSandbox: shim gone');
      };
      rt.ensureImage = async () => {
        throw new ContainerStartError('ErrImagePull', 'cannot pull image example/app:1: not found', { field: 'spec.containers[app].image' });
      };
      workers.apply({ type: 'add', pod: staticPod('u1', { containers: [app()] }) });
      await clock.advance(0);
      await new Promise((r) => setTimeout(r, 10));
      const st = workers.states()[0]!;
      assert.deepEqual(st.errors, ['sandbox: RunPodSandbox: shim gone']);
      assert.equal(st.status.containerStatuses![0]!.state?.waiting?.reason, 'ContainerCreating', 'the image error is not shown before a start');
      await workers.stopAll();
      await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
