/**
 * Static-pod agent benchmark (issue 4, "Proof"). Every figure is measured on real components:
 *
 * - react (process | cri): a manifest written into the watched directory → the container is running
 *   (the worker state says Running and, for processes, /proc has the pid). The agent runs in this
 *   process with the same wiring as `kubestrap agent` (file source, merger, pod workers, runtime);
 *   the cri runtime talks to a private containerd (test/support/containerd.ts) and runs the pause
 *   image as a hostNetwork pod. Each trial is a new pod; it is deleted (and its stop timed) after.
 * - restart: `kill -9` of the container process → running again, the first restart (immediate).
 * - rss / cpu: a real `node bin/kubestrap.js agent --runtime process` child with 100 `sleep` pods,
 *   VmRSS sampled from /proc/<pid>/status and utime+stime from /proc/<pid>/stat over an idle window.
 * - relist: a FileSource's initial list of a directory of 1000 valid manifests → snapshot emitted.
 * - kubelet (issue 15): the same static-pod lifecycle (create, kill, edit, delete) and idle CPU / RSS
 *   with 20 and 100 pods, against the real kubelet in standalone mode and then a real `kubestrap
 *   agent --runtime cri`, on one test bed node's containerd, observed through its CRI
 *   (bench/lib/vs-kubelet.ts); prints `static-<measure>-ratio: <ours / kubelet>`, and for create the
 *   floor: the same pod run directly through the CRI (`static-create-ms-cri-floor`,
 *   `static-create-floor-ratio: <floor / kubelet>`).
 *
 * References measured in the same run, interleaved with the trials (the machine is noisy):
 * spawning the same process with child_process; creating sandbox + container (or just the container)
 * with the CRI client and the same configs; reading the 1000 files without decoding them.
 *
 * The last lines are `name: <median> (p95 <p95>)` (or a plain number) for the six figures of the
 * issue, in its order; extra lines (references, ratios, stop times) come before them.
 * Env: BENCH_AGENT_TRIALS (default 50), BENCH_AGENT_IDLE_S (30), BENCH_AGENT_SETTLE_S (20: all pods
 * running → idle window), BENCH_AGENT_SKIP_CRI=1,
 * BENCH_AGENT_SERIES=process,cri,relist,rss,kubelet (a subset, while profiling), BENCH_AGENT_BIN (another
 * launcher to measure instead of the freshly compiled bin/kubestrap.js), BENCH_AGENT_NODE_OPTIONS
 * (NODE_OPTIONS of that agent, e.g. an --import that logs heap statistics), BENCH_AGENT_KEEP_LOG
 * (copy the agent's log there). BENCH_QUICK=1: 1 trial, 5 idle pods, 50 relist files, 2 s windows
 * (a smoke run: `npm test` runs it, its figures mean nothing).
 * BENCH_AGENT_KUBELET_TRIALS (default 8, quick 2): lifecycle trials per side of the kubelet series
 * (the kubelet's edit alone takes ~13 s); quick mode measures 20 idle pods only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1PodList } from '@kubernetes/client-node';
import { Agent } from '../src/agent/agent.js';
import { AGENT_NODE_FLAGS } from '../src/agent/daemon.js';
import { resolveAgentConfig } from '../src/agent/config.js';
import { createLogger, type Logger } from '../src/agent/log.js';
import type { PodState } from '../src/agent/pod-types.js';
import { createRuntime } from '../src/agent/runtime/create.js';
import type { Runtime } from '../src/agent/runtime/types.js';
import { FileSource } from '../src/agent/sources/file.js';
import { PodWorkers } from '../src/agent/workers/index.js';
import type { CriClient } from '../src/cri/client.js';
import { Host } from '../src/host/host.js';
import { componentsReady, components } from '../test/support/components.js';
import { startContainerd, type Containerd } from '../test/support/containerd.js';
import { startProcess, type Proc } from '../test/support/proc.js';
import { builtCli } from './lib/cli.js';
import { directPod, removeSandbox, runDirect } from './lib/cri-direct.js';
import { fmt, resultLine, summarize, type Summary } from './lib/stats.js';
import { criPod, processPod } from './lib/manifests.js';
import { cpuTicks, rssKiB } from './lib/procfs.js';
import { killPodProcesses } from './lib/sweep.js';
import { benchVsKubelet, LIFECYCLE, type VsKubeletResult } from './lib/vs-kubelet.js';

/** BENCH_QUICK=1: one trial, small sizes, short windows; proves the bench runs (npm test), measures nothing. */
const QUICK = process.env.BENCH_QUICK === '1';
const TRIALS = Number(process.env.BENCH_AGENT_TRIALS ?? (QUICK ? 1 : 50));
const IDLE_S = Number(process.env.BENCH_AGENT_IDLE_S ?? (QUICK ? 2 : 30));
const SETTLE_S = Number(process.env.BENCH_AGENT_SETTLE_S ?? (QUICK ? 1 : 20));
/** Pods of the RSS / idle CPU figure and manifests of the relist figure (their names say 100 and 1000). */
const IDLE_PODS = QUICK ? 5 : 100;
const RELIST_FILES = QUICK ? 50 : 1000;
const SKIP_CRI = process.env.BENCH_AGENT_SKIP_CRI === '1';
const KUBELET_TRIALS = Number(process.env.BENCH_AGENT_KUBELET_TRIALS ?? (QUICK ? 2 : 8));
/** Idle pod counts of the kubelet comparison. */
const KUBELET_PODS: readonly number[] = QUICK ? [20] : [20, 100];
const SERIES = new Set((process.env.BENCH_AGENT_SERIES ?? 'process,cri,relist,rss,kubelet').split(',').map((x) => x.trim()));
const NODE = 'bench-node';
const MANIFESTS = '/etc/kubernetes/manifests';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SLEEP = execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim();
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const info = (line: string): void => console.log(`# ${line}`);
const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

// ---------------------------------------------------------------------------------------------
// cleanup: everything registered here runs in `finally` and on SIGINT/SIGTERM

const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `kubestrap-bench-agent-${prefix}-`));
  cleanups.push(async () => {
    const left = await killPodProcesses(dir);
    if (left > 0) info(`killed ${left} leftover pod process(es) under ${dir}`);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// an in-process agent: `kubestrap agent` wiring (src/commands/agent.ts) with a temp rootfs

interface LocalAgent {
  host: Host;
  dir: string;
  agent: Agent;
  workers: PodWorkers;
  runtime: Runtime;
}

/** The logger the CLI uses, formatting every record, writing to /dev/null instead of stderr. */
function devNullLogger(): Logger {
  return createLogger('info', createWriteStream('/dev/null'));
}

async function startLocalAgent(kind: 'process' | 'cri', rootfs: string, endpoint?: string): Promise<LocalAgent> {
  const host = new Host(rootfs);
  const dir = host.path(MANIFESTS);
  await mkdir(dir, { recursive: true });
  const config = await resolveAgentConfig(
    { rootfs, podManifestPath: MANIFESTS, nodeName: NODE, runtime: kind, readOnlyPort: '0', containerRuntimeEndpoint: endpoint },
    (p) => readFile(p, 'utf8'),
  );
  const logger = devNullLogger();
  const runtime = await createRuntime({ runtime: config.runtime, host: config.host, nodeName: config.nodeName, endpoint: config.containerRuntimeEndpoint });
  const workers = new PodWorkers({ runtime, host: config.host, nodeName: config.nodeName, stateDir: config.stateDir, logger });
  const agent = new Agent({ config, runtime, workers, logger });
  cleanups.push(() => agent.stop(true));
  await agent.start();
  return { host, dir, agent, workers, runtime };
}

const fullName = (name: string): string => `${name}-${NODE}`;

/** Resolves with the moment (performance.now()) a pod's state first satisfies `pred`. */
function whenPod(workers: PodWorkers, name: string, pred: (s: PodState) => boolean, timeoutMs = 30_000): Promise<{ at: number; state: PodState }> {
  const full = fullName(name);
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const check = (s: PodState | undefined): void => {
      if (!s || s.pod.name !== full || !pred(s)) return;
      const at = performance.now();
      clearTimeout(timer);
      off();
      resolve({ at, state: s });
    };
    const timer = setTimeout(() => {
      off();
      const s = workers.states().find((x) => x.pod.name === full);
      reject(
        new Error(
          `pod ${full} did not reach the state within ${timeoutMs} ms: ${JSON.stringify(s?.status.containerStatuses ?? null)} ${s?.errors.join('; ') ?? ''}`,
        ),
      );
    }, timeoutMs);
    off = workers.onChange(check);
    check(workers.states().find((x) => x.pod.name === full));
  });
}

function containerId(s: PodState): string | undefined {
  return s.status.containerStatuses?.[0]?.containerID?.replace(/^[a-z]+:\/\//, '');
}

/** Running as the agent reports it: pod phase Running, the container running at this restart count. */
function runningAt(restarts: number, extra: (s: PodState) => boolean = () => true) {
  return (s: PodState): boolean => {
    const cs = s.status.containerStatuses?.[0];
    return s.status.phase === 'Running' && cs?.state?.running !== undefined && cs.restartCount === restarts && extra(s);
  };
}

/** For the process runtime: the container's pid (`<pid>:<start time>`) exists in /proc. */
const processExists = (s: PodState): boolean => existsSync(`/proc/${containerId(s)?.split(':')[0] ?? 'none'}`);

/** Deletes the manifest; resolves with the ms until the pod's worker is gone and its stop has settled. */
async function deletePod(a: LocalAgent, name: string): Promise<number> {
  const full = fullName(name);
  const t0 = performance.now();
  await unlink(path.join(a.dir, `${name}.yaml`));
  const deadline = Date.now() + 30_000;
  while (a.workers.states().some((s) => s.pod.name === full)) {
    if (Date.now() > deadline) throw new Error(`pod ${full} still present 30 s after its manifest was deleted`);
    await new Promise((r) => setImmediate(r));
  }
  await a.workers.settled();
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------
// process runtime: react, restart, stop; reference = spawning `sleep` directly

interface Series {
  [name: string]: number[];
}

function push(series: Series, name: string, v: number): void {
  (series[name] ??= []).push(v);
}

async function spawnReference(token: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(SLEEP, [token], { detached: true, stdio: 'ignore' });
  await once(child, 'spawn');
  const ms = performance.now() - t0;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  return ms;
}

async function benchProcess(series: Series): Promise<void> {
  const rootfs = await scratch('process');
  const a = await startLocalAgent('process', rootfs);
  const token = String(800_000 + Math.floor(Math.random() * 100_000));
  // warm-up: first-use costs (module loading, JIT, mkdir of the state dirs) are not the steady state
  for (let i = 0; i < 3; i++) {
    const name = `warm-${i}`;
    const running = whenPod(a.workers, name, runningAt(0, processExists));
    await writeFile(path.join(a.dir, `${name}.yaml`), processPod(name, token));
    await running;
    await deletePod(a, name);
    await spawnReference(token);
  }
  for (let i = 0; i < TRIALS; i++) {
    const name = `p${i}`;
    const running = whenPod(a.workers, name, runningAt(0, processExists));
    const t0 = performance.now();
    await writeFile(path.join(a.dir, `${name}.yaml`), processPod(name, token));
    const first = await running;
    push(series, 'agent-react-ms-process', first.at - t0);
    push(series, 'agent-react-ms-process-reference-ms', await spawnReference(token));

    const id0 = containerId(first.state)!;
    const again = whenPod(
      a.workers,
      name,
      runningAt(1, (s) => containerId(s) !== id0 && processExists(s)),
    );
    const t1 = performance.now();
    process.kill(Number(id0.split(':')[0]), 'SIGKILL');
    push(series, 'agent-restart-ms', (await again).at - t1);
    push(series, 'agent-restart-ms-reference-ms', await spawnReference(token));

    push(series, 'agent-stop-ms-process', await deletePod(a, name));
  }
  await a.agent.stop(true);
}

// ---------------------------------------------------------------------------------------------
// cri runtime: react, restart, stop; reference = the same sandbox/container through the CRI client

/** Pid of a CRI container's process (from the verbose status containerd returns). */
async function criPid(cri: CriClient, id: string): Promise<number> {
  const { info: i } = await cri.runtime.containerStatus({ containerId: id, verbose: true });
  const pid = (JSON.parse(i.info ?? '{}') as { pid?: number }).pid;
  if (!pid) throw new Error(`no pid for container ${id}`);
  return pid;
}

/** Sandbox + container created and started directly with the CRI client; returns [sandbox ms, restart ms]. */
async function criReference(cri: CriClient, host: Host, image: string, imageRef: string, i: number): Promise<[number, number]> {
  const p = await directPod({
    host,
    manifest: criPod(`ref${i}`, image),
    origin: `${MANIFESTS}/ref${i}.yaml`,
    nodeName: 'bench-ref',
    imageRef,
    nodeIP: '127.0.0.1',
  });
  const t0 = performance.now();
  const { sandboxId, containerId: c0 } = await runDirect(cri, p);
  try {
    const react = performance.now() - t0;
    await cri.runtime.stopContainer({ containerId: c0, timeout: 0 });
    const t1 = performance.now();
    const { containerId: c1 } = await cri.runtime.createContainer({ podSandboxId: sandboxId, config: p.container(1), sandboxConfig: p.sandbox });
    await cri.runtime.startContainer({ containerId: c1 });
    const restart = performance.now() - t1;
    return [react, restart];
  } finally {
    await removeSandbox(cri, sandboxId);
  }
}

async function benchCri(series: Series): Promise<void> {
  const c = components();
  const image = c.images.pause.ref;
  const t = performance.now();
  const containerd: Containerd = await startContainerd({ images: [] });
  cleanups.push(() => containerd.stop());
  info(`private containerd ${containerd.majorVersion}.x (${containerd.snapshotter}) ready in ${(performance.now() - t).toFixed(0)} ms`);
  const rootfs = await scratch('cri');
  const a = await startLocalAgent('cri', rootfs, containerd.endpoint);
  const cri = containerd.cri;
  const { image: img } = await cri.image.imageStatus({ image: { image } });
  if (!img) throw new Error(`image ${image} missing from the private containerd`);
  const refHost = new Host(await scratch('cri-ref'));
  for (let i = 0; i < 2; i++) {
    const name = `warm-${i}`;
    const running = whenPod(a.workers, name, runningAt(0));
    await writeFile(path.join(a.dir, `${name}.yaml`), criPod(name, image));
    await running;
    await deletePod(a, name);
    await criReference(cri, refHost, image, img.id, 1000 + i);
  }
  for (let i = 0; i < TRIALS; i++) {
    const name = `c${i}`;
    const running = whenPod(a.workers, name, runningAt(0));
    const t0 = performance.now();
    await writeFile(path.join(a.dir, `${name}.yaml`), criPod(name, image));
    const first = await running;
    push(series, 'agent-react-ms-cri', first.at - t0);

    const id0 = containerId(first.state)!;
    const pid = await criPid(cri, id0);
    const again = whenPod(
      a.workers,
      name,
      runningAt(1, (s) => containerId(s) !== id0),
    );
    const t1 = performance.now();
    process.kill(pid, 'SIGKILL');
    push(series, 'agent-restart-ms-cri', (await again).at - t1);
    push(series, 'agent-stop-ms-cri', await deletePod(a, name));

    const [react, restart] = await criReference(cri, refHost, image, img.id, i);
    push(series, 'agent-react-ms-cri-reference-ms', react);
    push(series, 'agent-restart-ms-cri-reference-ms', restart);
  }
  await a.agent.stop(true);
}

// ---------------------------------------------------------------------------------------------
// a real `kubestrap agent` process with 100 pods: RSS and idle CPU

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function runningPods(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/pods`, { signal: AbortSignal.timeout(5000) });
  const list = (await res.json()) as V1PodList;
  return list.items.filter((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running).length;
}

interface IdleResult {
  rss0: number[];
  rss100: number[];
  hwm: number;
  cpuPct: number;
  startAllMs: number;
}

async function benchAgentProcess(bin: string): Promise<IdleResult> {
  const rootfs = await scratch('rss');
  const host = new Host(rootfs);
  const dir = host.path(MANIFESTS);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const args = [
    ...AGENT_NODE_FLAGS,
    bin,
    'agent',
    '--runtime',
    'process',
    '--rootfs',
    rootfs,
    '--pod-manifest-path',
    MANIFESTS,
    '--node-name',
    NODE,
    '--read-only-port',
    String(port),
    '--stop-pods-on-exit',
  ];
  const env = { ...process.env, NODE_OPTIONS: process.env.BENCH_AGENT_NODE_OPTIONS ?? '' };
  const proc: Proc = await startProcess('kubestrap agent', process.execPath, args, { logFile: path.join(rootfs, 'agent.log'), env });
  cleanups.push(() => proc.stop(30_000));
  if (process.env.BENCH_AGENT_KEEP_LOG)
    cleanups.push(() => import('node:fs/promises').then((f) => f.copyFile(proc.logFile, process.env.BENCH_AGENT_KEEP_LOG!)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!proc.running()) throw new Error(`kubestrap agent exited; see ${proc.logFile}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`kubestrap agent not healthy after 30 s; see ${proc.logFile}`);
    await sleep(100);
  }
  await sleep(QUICK ? 200 : 3000);
  const rss0: number[] = [];
  for (let i = 0; i < (QUICK ? 2 : 10); i++) {
    rss0.push(await rssKiB(proc.pid));
    await sleep(200);
  }

  const token = String(900_000 + Math.floor(Math.random() * 90_000));
  const t0 = performance.now();
  for (let i = 0; i < IDLE_PODS; i++) await writeFile(path.join(dir, `pod-${String(i).padStart(3, '0')}.yaml`), processPod(`pod-${i}`, token));
  let startAllMs: number;
  const until = Date.now() + 120_000;
  for (;;) {
    if (!proc.running()) throw new Error(`kubestrap agent exited; see ${proc.logFile}`);
    if ((await runningPods(port).catch(() => 0)) === IDLE_PODS) {
      startAllMs = performance.now() - t0;
      break;
    }
    if (Date.now() > until) throw new Error(`${IDLE_PODS} pods not running after 120 s; see ${proc.logFile}`);
    await sleep(250);
  }
  info(`${IDLE_PODS} pods running ${fmt(startAllMs)} ms after their manifests were written`);
  // Idle means after the start-up: V8's memory reducer collects the start's garbage some seconds
  // after the last burst (it waits for a low allocation rate), so the window starts 20 s later.
  await sleep(SETTLE_S * 1000);
  const rss100: number[] = [];
  const c0 = await cpuTicks(proc.pid);
  const w0 = performance.now();
  const end = w0 + IDLE_S * 1000;
  while (performance.now() < end) {
    rss100.push(await rssKiB(proc.pid));
    await sleep(500);
  }
  const c1 = await cpuTicks(proc.pid);
  const wallS = (performance.now() - w0) / 1000;
  const cpuPct = ((c1 - c0) / CLK_TCK / wallS) * 100;
  const hwm = await rssKiB(proc.pid, 'VmHWM');
  if ((await runningPods(port)) !== IDLE_PODS) throw new Error('pods stopped running during the idle window');
  const status = await proc.stop(30_000);
  if (status.code !== 0) info(`kubestrap agent exited with ${status.code ?? status.signal}; see ${proc.logFile}`);
  return { rss0, rss100, hwm, cpuPct, startAllMs };
}

// ---------------------------------------------------------------------------------------------
// file source: initial relist of 1000 manifests

async function benchRelist(series: Series): Promise<void> {
  const dir = path.join(await scratch('relist'), 'manifests');
  await mkdir(dir);
  for (let i = 0; i < RELIST_FILES; i++) await writeFile(path.join(dir, `pod-${String(i).padStart(4, '0')}.yaml`), processPod(`pod-${i}`, String(1000 + i)));
  // the source reads only files unmodified for its 50 ms quiet period: the last ones written must settle
  await sleep(200);
  const logger = devNullLogger();
  const relistOnce = async (): Promise<number> => {
    const source = new FileSource({ path: dir, nodeName: NODE, checkFrequencyMs: 3_600_000, logger });
    let pods = -1;
    let at = 0;
    const t0 = performance.now();
    await source.start((snapshot) => {
      at = performance.now();
      pods = snapshot.pods.length;
    });
    await source.stop();
    if (pods !== RELIST_FILES) throw new Error(`relist emitted ${pods} pods, expected ${RELIST_FILES}`);
    return at - t0;
  };
  const rawRead = async (): Promise<number> => {
    const t0 = performance.now();
    const names = await readdir(dir);
    await Promise.all(names.map((n) => readFile(path.join(dir, n))));
    return performance.now() - t0;
  };
  await relistOnce();
  await rawRead();
  for (let i = 0; i < TRIALS; i++) {
    push(series, 'agent-relist-ms-1000-manifests', await relistOnce());
    push(series, 'agent-relist-ms-1000-manifests-reference-ms', await rawRead());
  }
}

// ---------------------------------------------------------------------------------------------

async function timed(what: string, fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  info(`${what} ... (load ${load()})`);
  await fn();
  info(`${what} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** `static-<measure>-ms-<side>` lines and `static-<measure>-ratio: <ours / kubelet>` (medians). */
function vsKubeletLines({ sides: vs, createFloor }: VsKubeletResult): string[] {
  const lines: string[] = [];
  const triple = (measure: string, unit: string, ours: Summary, kubelet: Summary): void => {
    lines.push(resultLine(`static-${measure}-${unit}-ours`, ours), resultLine(`static-${measure}-${unit}-kubelet`, kubelet));
    lines.push(`static-${measure}-ratio: ${fmt(ours.median / kubelet.median)}`);
  };
  for (const m of LIFECYCLE) {
    triple(m, 'ms', summarize(vs.ours.lifecycle[m]), summarize(vs.kubelet.lifecycle[m]));
    if (m !== 'create') continue;
    // the direct CRI path on the same containerd: how far below the kubelet any agent can get
    const floor = summarize(createFloor);
    lines.push(
      resultLine('static-create-ms-cri-floor', floor),
      `static-create-floor-ratio: ${fmt(floor.median / summarize(vs.kubelet.lifecycle.create).median)}`,
    );
  }
  for (const [n, ours] of vs.ours.idle) {
    const kubelet = vs.kubelet.idle.get(n)!;
    const one = (x: number): Summary => summarize([x]);
    triple(`cpu-idle-${n}pods`, 'pct', one(ours.cpuPct), one(kubelet.cpuPct));
    triple(`rss-${n}pods`, 'mb', one(ours.rssMiB), one(kubelet.rssMiB));
    triple(`start-${n}pods`, 'ms', one(ours.startMs), one(kubelet.startMs));
  }
  return lines;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench:agent needs root (the process runtime makes mount namespaces; containerd)');
    return 1;
  }
  info(`agent benchmark: ${TRIALS} trials per series; ${os.cpus().length} CPUs, load average ${load()}; node ${process.version}`);
  if (QUICK) info(`quick mode (BENCH_QUICK=1): ${IDLE_PODS} idle pods, ${RELIST_FILES} relist files, ${IDLE_S} s idle window; the figures below mean nothing`);
  const series: Series = {};
  let idle: IdleResult | undefined;
  const runCri = SERIES.has('cri') && !SKIP_CRI && componentsReady();
  if (SERIES.has('cri') && !runCri)
    info(SKIP_CRI ? 'cri series skipped (BENCH_AGENT_SKIP_CRI=1)' : 'cri series skipped: run `npm run prepare:components` first');
  const runKubelet = SERIES.has('kubelet') && !SKIP_CRI && componentsReady();
  if (SERIES.has('kubelet') && !runKubelet) info('kubelet series skipped (needs the cri runtime and `npm run prepare:components`)');
  let vs: VsKubeletResult | undefined;
  try {
    const bin = SERIES.has('rss') || runKubelet ? (process.env.BENCH_AGENT_BIN ?? (await builtCli(repo, info))) : '';
    if (SERIES.has('process')) await timed('process runtime: react / restart / stop', () => benchProcess(series));
    if (runCri) await timed('cri runtime (private containerd): react / restart / stop', () => benchCri(series));
    if (runKubelet) {
      await timed(`real kubelet (standalone) vs kubestrap agent --runtime cri: ${KUBELET_TRIALS} lifecycles, idle ${KUBELET_PODS.join('/')} pods`, async () => {
        vs = await benchVsKubelet({ trials: KUBELET_TRIALS, podCounts: KUBELET_PODS, settleS: SETTLE_S, idleS: IDLE_S, bin, clkTck: CLK_TCK, log: info });
      });
    }
    if (SERIES.has('relist')) await timed(`file source: relist of ${RELIST_FILES} manifests`, () => benchRelist(series));
    if (SERIES.has('rss')) {
      await timed(`real kubestrap agent (${path.relative(repo, bin)}) with ${IDLE_PODS} pods: RSS and idle CPU over ${IDLE_S} s`, async () => {
        idle = await benchAgentProcess(bin);
      });
    }
  } finally {
    await cleanup();
  }

  const s = (name: string): Summary => summarize(series[name] ?? []);
  const ratio = (name: string, ref: string): string => fmt(s(name).median / s(ref).median);
  console.log('');
  console.log(`# load average at the end: ${load()}`);
  const extras: string[] = [
    resultLine('agent-react-ms-process-reference-ms', s('agent-react-ms-process-reference-ms')),
    `agent-react-process-ratio: ${ratio('agent-react-ms-process', 'agent-react-ms-process-reference-ms')}`,
    resultLine('agent-restart-ms-reference-ms', s('agent-restart-ms-reference-ms')),
    `agent-restart-ratio: ${ratio('agent-restart-ms', 'agent-restart-ms-reference-ms')}`,
    resultLine('agent-stop-ms-process', s('agent-stop-ms-process')),
  ];
  if (runCri) {
    extras.push(
      resultLine('agent-react-ms-cri-reference-ms', s('agent-react-ms-cri-reference-ms')),
      `agent-react-cri-ratio: ${ratio('agent-react-ms-cri', 'agent-react-ms-cri-reference-ms')}`,
      resultLine('agent-restart-ms-cri', s('agent-restart-ms-cri')),
      resultLine('agent-restart-ms-cri-reference-ms', s('agent-restart-ms-cri-reference-ms')),
      `agent-restart-cri-ratio: ${ratio('agent-restart-ms-cri', 'agent-restart-ms-cri-reference-ms')}`,
      resultLine('agent-stop-ms-cri', s('agent-stop-ms-cri')),
    );
  }
  extras.push(
    resultLine('agent-relist-ms-1000-manifests-reference-ms', s('agent-relist-ms-1000-manifests-reference-ms')),
    `agent-relist-ratio: ${ratio('agent-relist-ms-1000-manifests', 'agent-relist-ms-1000-manifests-reference-ms')}`,
  );
  const mb = (kib: number[]): Summary => summarize(kib.map((k) => k / 1024));
  if (idle) {
    extras.push(
      resultLine('agent-rss-mb-0pods', mb(idle.rss0)),
      `agent-rss-mb-100pods-peak: ${fmt(idle.hwm / 1024)}`,
      `agent-start-ms-100pods: ${fmt(idle.startAllMs)}`,
    );
  }
  if (vs) extras.push(...vsKubeletLines(vs));
  for (const line of extras) console.log(line);

  const targets: [string, number][] = [
    ['agent-react-ms-process', 200],
    ['agent-react-ms-cri', 1000],
    ['agent-restart-ms', 300],
    ['agent-rss-mb-100pods', 80],
    ['agent-cpu-idle-pct-100pods', 0.5],
    ['agent-relist-ms-1000-manifests', 2000],
  ];
  const value = (name: string): { line: string; v: number } => {
    if (name === 'agent-rss-mb-100pods') {
      const r = mb(idle?.rss100 ?? []);
      return { line: resultLine(name, r), v: r.median };
    }
    if (name === 'agent-cpu-idle-pct-100pods') return { line: `${name}: ${fmt(idle?.cpuPct ?? Number.NaN)}`, v: idle?.cpuPct ?? Number.NaN };
    const r = s(name);
    return { line: resultLine(name, r), v: r.median };
  };
  const results = targets.map(([name, target]) => ({ name, target, ...value(name) }));
  for (const r of results) console.log(`# target ${r.name} ≤ ${r.target}: ${Number.isFinite(r.v) ? (r.v <= r.target ? 'met' : 'MISSED') : 'not measured'}`);
  for (const r of results) console.log(r.line);
  return 0;
}

process.exitCode = await main().catch(async (err: unknown) => {
  await cleanup();
  console.error(`bench:agent failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
});
