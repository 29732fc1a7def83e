/**
 * The pod workers with the real process runtime (needs root: unshare + mount): hostPath binds
 * under a temp rootfs, CRI logs, crash restarts with backoff, liveness restarts, image-tag binaries,
 * and adoption after a kill -9 of an agent process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { Host } from '../../src/host/host.js';
import { readMessages } from '../../src/agent/logs/cri-log.js';
import { findContainerLog } from '../../src/agent/logs/find.js';
import type { PodState, StaticPod } from '../../src/agent/pod-types.js';
import { ProcessRuntime } from '../../src/agent/runtime/process.js';
import { readStat } from '../../src/agent/runtime/process/proc.js';
import { PodWorkers } from '../../src/agent/workers/index.js';
import { killLeftoverContainers } from '../support/process-leftovers.js';
import { until } from '../support/until.js';

const root = process.getuid?.() === 0;
let dir = '';
let rootfs = '';
let host: Host;
const workerSets: PodWorkers[] = [];
const agentChildren: number[] = [];

async function fakeImage(repo: string, tag: string, name: string, script: string): Promise<void> {
  const d = path.join(rootfs, 'var/lib/kubestrap/images', repo, tag);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, name), `#!/bin/sh\n${script}\n`);
  await chmod(path.join(d, name), 0o755);
}

function staticPod(name: string, containers: V1Container[], extra: Partial<NonNullable<V1Pod['spec']>> = {}, uid = `${name}-uid`): StaticPod {
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${name}-node1`, namespace: 'kube-system', uid },
    spec: {
      hostNetwork: true,
      terminationGracePeriodSeconds: 2,
      volumes: [{ name: 'data', hostPath: { path: '/srv/data', type: 'DirectoryOrCreate' } }],
      containers,
      ...extra,
    },
  };
  return { uid, name: `${name}-node1`, namespace: 'kube-system', source: 'file', origin: `/etc/kubernetes/manifests/${name}.yaml`, hash: uid, pod };
}

function newWorkers(backoffMs = 1500): PodWorkers {
  const w = new PodWorkers({
    runtime: new ProcessRuntime(host),
    host,
    nodeName: 'node1',
    nodeIP: '127.0.0.1',
    backoff: { initialMs: backoffMs, maxMs: 10_000, resetAfterMs: 600_000 },
  });
  workerSets.push(w);
  return w;
}

function stateOf(w: PodWorkers, name: string): PodState | undefined {
  return w.states().find((s) => s.pod.name === `${name}-node1`);
}

function pidOf(s: PodState | undefined, i = 0): number | undefined {
  const id = s?.status.containerStatuses?.[i]?.containerID;
  const st = s?.status.containerStatuses?.[i]?.state;
  return id && st?.running ? Number(id.replace('process://', '').split(':')[0]) : undefined;
}

async function logOf(pod: StaticPod, container: string, attempt: number): Promise<string> {
  return readFile(path.join(rootfs, 'var/log/pods', `${pod.namespace}_${pod.name}_${pod.uid}`, container, `${attempt}.log`), 'utf8').catch(() => '');
}

/** The pid exists and is not a zombie (start time not needed: the test holds the pids briefly). */
async function alive(pid: number): Promise<boolean> {
  const st = await readStat(pid);
  return st !== undefined && st.state !== 'Z';
}

const mountPath = (): string => path.join(dir, 'inside');

describe('agent with the process runtime', { skip: !root && 'needs root (unshare, mount)' }, () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-agent-process-'));
    rootfs = path.join(dir, 'rootfs');
    host = new Host(rootfs);
    await mkdir(path.join(rootfs, 'srv/data'), { recursive: true });
    await writeFile(path.join(rootfs, 'srv/data/greeting'), 'hello-from-rootfs\n');
  });

  after(async () => {
    for (const pid of agentChildren) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const w of workerSets) await w.stopAll().catch(() => undefined);
    // anything still marked with this rootfs is a leak: kill it (and fail loudly below)
    const leftovers = await killLeftoverContainers(host);
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'no container processes left behind');
  });

  it('runs a hostNetwork pod with a hostPath bind mount and writes CRI logs', async () => {
    await fakeImage(
      'example.com/tool',
      'v1',
      'tool',
      `echo "v1 $(cat "${mountPath()}/greeting")"; echo written > "${mountPath()}/reply"; echo to-stderr >&2; exec sleep 1000`,
    );
    const w = newWorkers();
    const pod = staticPod('bind', [
      { name: 'tool', image: 'example.com/tool:v1', command: ['tool'], volumeMounts: [{ name: 'data', mountPath: mountPath() }] },
    ]);
    w.apply({ type: 'add', pod });
    const pid = await until('running', () => pidOf(stateOf(w, 'bind')));
    const log = await until('log lines', async () => {
      const t = await logOf(pod, 'tool', 0);
      return t.split('\n').length > 2 ? t : undefined;
    });
    assert.match(log, /^\S+Z stdout F v1 hello-from-rootfs\n/m);
    assert.match(log, /^\S+Z stderr F to-stderr$/m);
    const s = stateOf(w, 'bind')!;
    assert.equal(s.status.phase, 'Running');
    assert.equal(s.status.hostIP, '127.0.0.1');
    assert.equal(s.status.containerStatuses![0]!.imageID, path.join(rootfs, 'var/lib/kubestrap/images/example.com/tool/v1/tool'));
    assert.equal(s.status.containerStatuses![0]!.ready, true);
    // the bind lives only in the container's mount namespace
    assert.equal(await readFile(path.join(mountPath(), 'greeting'), 'utf8').catch(() => 'absent'), 'absent');
    // and its missing mount point was created in that namespace only (the real host stays as it was),
    // while writes through the bind reach the rootfs (it lies below the shadowed directory here)
    assert.equal(existsSync(mountPath()), false);
    assert.equal(await readFile(path.join(rootfs, 'srv/data/reply'), 'utf8'), 'written\n');
    // exec (probes) runs inside that namespace
    const rt = new ProcessRuntime(host);
    const ref = { id: s.status.containerStatuses![0]!.containerID!.replace('process://', ''), name: 'tool', attempt: 0 };
    assert.deepEqual(await rt.exec(ref, ['cat', `${mountPath()}/greeting`], 5000), { exitCode: 0, output: 'hello-from-rootfs' });
    const t0 = Date.now();
    w.apply({ type: 'remove', pod });
    await until('stopped', async () => ((await alive(pid)) ? undefined : true));
    console.log(`# remove → process gone: ${Date.now() - t0} ms`);
    await w.settled();
    assert.equal(w.states().length, 0);
  });

  it('stops with SIGTERM, then SIGKILL after the grace period', async () => {
    const w = newWorkers();
    const pod = staticPod('stubborn', [{ name: 'c', image: 'busybox', command: ['sh', '-c', "trap '' TERM; echo up; while true; do sleep 0.1; done"] }], {
      terminationGracePeriodSeconds: 1,
    });
    w.apply({ type: 'add', pod });
    const pid = await until('running', () => pidOf(stateOf(w, 'stubborn')));
    await until('trap set', async () => ((await logOf(pod, 'c', 0)).includes('up') ? true : undefined));
    const t0 = Date.now();
    await w.stopAll();
    const took = Date.now() - t0;
    assert.equal(await alive(pid), false);
    assert.ok(took >= 900, `waited for the grace period (${took} ms)`);
    // kubestrap logs finds it by manifest name
    const file = await findContainerLog(host, { pod: 'stubborn' });
    assert.deepEqual(readMessages(await readFile(file, 'utf8')), ['up']);
  });

  it('refuses pods without hostNetwork with a clear error', async () => {
    const w = newWorkers();
    w.apply({ type: 'add', pod: staticPod('nohost', [{ name: 'c', image: 'busybox', command: ['sleep', '100'] }], { hostNetwork: false }) });
    const errors = await until('error', () => {
      const e = stateOf(w, 'nohost')?.errors ?? [];
      return e.length ? e : undefined;
    });
    assert.match(errors.join('\n'), /the process runtime runs host processes only, so a pod needs hostNetwork: true/);
    await w.stopAll();
  });

  it('restarts a crashed container at once, then backs off', async () => {
    const w = newWorkers(1500);
    const pod = staticPod('crash', [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo started; sleep 0.3; exit 3'] }]);
    w.apply({ type: 'add', pod });
    await until('first run', () => pidOf(stateOf(w, 'crash')));
    // first crash: restarted without backoff
    const firstExit = Date.now();
    await until('restart 1', () => (stateOf(w, 'crash')?.restarts === 1 ? true : undefined));
    const firstRestartMs = Date.now() - firstExit - 300;
    const waiting = await until('CrashLoopBackOff', () => {
      const st = stateOf(w, 'crash')?.status.containerStatuses?.[0];
      return st?.state?.waiting?.reason === 'CrashLoopBackOff' ? st : undefined;
    });
    assert.equal(waiting.lastState?.terminated?.exitCode, 3);
    assert.equal(waiting.lastState?.terminated?.reason, 'Error');
    const backoffStart = Date.now();
    await until('restart 2', () => (stateOf(w, 'crash')?.restarts === 2 ? true : undefined));
    const secondDelay = Date.now() - backoffStart;
    console.log(`# first restart after ~${firstRestartMs} ms, second after backoff ${secondDelay} ms`);
    assert.ok(secondDelay >= 1000, `backoff respected (${secondDelay} ms)`);
    assert.match(await logOf(pod, 'c', 1), / stdout F started/);
    await w.stopAll();
  });

  it('restarts a container whose liveness probe fails', async () => {
    const w = newWorkers(1500);
    const probe = { tcpSocket: { port: 1 }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 };
    w.apply({ type: 'add', pod: staticPod('live', [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], livenessProbe: probe }]) });
    const st = await until('liveness restart', () => {
      const c = stateOf(w, 'live')?.status.containerStatuses?.[0];
      return c && c.restartCount >= 1 ? c : undefined;
    });
    assert.match(st.lastState?.terminated?.message ?? '', /failed liveness probe, will be restarted/);
    await w.stopAll();
  });

  it('changes the binary when the image tag changes, stopping the old process first', async () => {
    await fakeImage('example.com/etcd', 'v1', 'etcd', 'echo "etcd v1"; exec sleep 1000');
    await fakeImage('example.com/etcd', 'v2', 'etcd', 'echo "etcd v2"; exec sleep 1000');
    const w = newWorkers();
    const c = (tag: string): V1Container => ({ name: 'etcd', image: `example.com/etcd:${tag}`, command: ['etcd', '--data-dir=/var/lib/etcd'] });
    const v1 = staticPod('etcd', [c('v1')], {}, 'etcd-v1');
    const v2 = staticPod('etcd', [c('v2')], {}, 'etcd-v2');
    w.apply({ type: 'add', pod: v1 });
    const oldPid = await until('v1 running', () => pidOf(stateOf(w, 'etcd')));
    w.apply({ type: 'update', pod: v2, previous: v1 });
    await until('v2 running', () => (stateOf(w, 'etcd')?.pod.uid === 'etcd-v2' ? pidOf(stateOf(w, 'etcd')) : undefined));
    assert.equal((await new ProcessRuntime(host).listManaged()).filter((m) => m.podName === 'etcd-node1').length, 1, 'never old and new side by side');
    await until('v2 log', async () => ((await logOf(v2, 'etcd', 0)).includes('etcd v2') ? true : undefined));
    assert.match(await logOf(v1, 'etcd', 0), /etcd v1/);
    assert.equal(await alive(oldPid), false);
    await w.stopAll();
  });

  it('adopts the containers of an agent killed with -9: same pid, no duplicate, logs continue', async () => {
    await fakeImage('example.com/ticker', 'v1', 'ticker', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done');
    const pod = staticPod('ticker', [
      { name: 'ticker', image: 'example.com/ticker:v1', command: ['ticker'], volumeMounts: [{ name: 'data', mountPath: mountPath() }] },
    ]);
    const gone = staticPod('gone', [{ name: 'g', image: 'busybox', command: ['sleep', '1000'] }]);
    // a separate agent process we can kill -9
    const script = path.join(dir, 'agent.mts');
    const src = (p: string): string => pathToSrc(p);
    await writeFile(
      script,
      `import { Host } from '${src('host/host.ts')}';
import { ProcessRuntime } from '${src('agent/runtime/process.ts')}';
import { PodWorkers } from '${src('agent/workers/index.ts')}';
const host = new Host(${JSON.stringify(rootfs)});
const w = new PodWorkers({ runtime: new ProcessRuntime(host), host, nodeName: 'node1', nodeIP: '127.0.0.1' });
for (const pod of JSON.parse(process.argv[2])) w.apply({ type: 'add', pod });
setInterval(() => {
  const s = w.states();
  if (s.every((p) => p.status.containerStatuses?.every((c) => c.state?.running))) process.stdout.write('ready\\n');
}, 100);
`,
    );
    const agent = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify([pod, gone])], {
      cwd: path.resolve(here, '../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    agentChildren.push(agent.pid!);
    await new Promise<void>((resolve, reject) => {
      agent.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      agent.once('exit', () => reject(new Error('agent exited early')));
    });
    await new Promise((r) => setTimeout(r, 300)); // let the checkpoint land
    const before = await new ProcessRuntime(host).listManaged();
    const tickerPid = before.find((m) => m.podName === 'ticker-node1')!.ref.id;
    const gonePid = Number(before.find((m) => m.podName === 'gone-node1')!.ref.id.split(':')[0]);
    agent.kill('SIGKILL');
    await new Promise((r) => agent.once('exit', r));
    const linesAtCrash = (await logOf(pod, 'ticker', 0)).split('\n').length;

    const w = newWorkers();
    await w.adopt([pod]);
    const s = await until('adopted', () => (pidOf(stateOf(w, 'ticker')) ? stateOf(w, 'ticker') : undefined));
    assert.equal(s.status.containerStatuses![0]!.containerID, `process://${tickerPid}`, 'same process, not restarted');
    assert.equal(s.status.containerStatuses![0]!.restartCount, 0);
    const after = await new ProcessRuntime(host).listManaged();
    assert.deepEqual(
      after.map((m) => m.podName),
      ['ticker-node1'],
      'no duplicate; the removed pod is stopped',
    );
    assert.equal(await alive(gonePid), false);
    await until('logs continue', async () => ((await logOf(pod, 'ticker', 0)).split('\n').length > linesAtCrash + 3 ? true : undefined));
    assert.deepEqual(readMessages(await logOf(pod, 'ticker', 0)).slice(0, 2), ['tick 1', 'tick 2']);
    // its exit is watched: kill it behind the agent's back → restarted
    process.kill(Number(tickerPid.split(':')[0]), 'SIGKILL');
    await until('adopted container restarted', () => (stateOf(w, 'ticker')?.restarts === 1 && pidOf(stateOf(w, 'ticker')) ? true : undefined));
    await w.stopAll();
  });
});

const here = path.dirname(fileURLToPath(import.meta.url));
function pathToSrc(p: string): string {
  return path.resolve(here, '../../src', p);
}
