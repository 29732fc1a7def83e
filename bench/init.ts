/**
 * init benchmark against the real kubeadm, in interleaved rounds. Every trial gets a fresh test bed
 * node (its own network namespace, private mounts, containerd with the images kubeadm names) and
 * runs one side, from its start:
 *  - kubeadm: the real `kubeadm init` with the real kubelet (bench/lib/vs-kubeadm.ts), then
 *    `kubeadm reset -f` (what it leaves is printed, the bed's stop removes it);
 *  - cri / process: `kubestrap init --runtime cri` (the same containerd) / `--runtime process`,
 *    then `kubestrap reset --force`;
 *  - direct (the physical limit): the same etcd + kube-apiserver — the command lines of the
 *    manifests `kubestrap init phase` wrote — started at once as plain processes in the node.
 *    Writing the certificates and manifests is not timed there.
 * All four use the node's bed address (kubeadm refuses 127.0.0.1), the same node name, pod CIDR
 * and version. Measured from the host, polled every 50 ms: kube-apiserver's /readyz first ok, and
 * the four control-plane mirror pods (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler) all phase Running through the API (super-admin.conf: admin.conf is only
 * authorized after init's cluster-admins step).
 *
 * Prints per trial the figures, the load average and some output lines' first moments, then the
 * medians and `init-readyz-ratio` / `init-mirrors-ratio` (kubestrap cri / process ÷ kubeadm) and
 * last `init-overhead-ratio` (kubestrap cri / process ÷ the direct start).
 *
 * Also, measured in this process: `apiserver-keys-s`, the time to generate (as init does, all at
 * once) the eight keys kube-apiserver reads at start-up, and `keygen-floor-ratio` = (direct +
 * that) / direct — what no init making a fresh PKI can beat on this machine.
 *
 * Per trial it also prints the CPU seconds and run-queue wait of every command in the node from
 * the start to /readyz (bench/lib/procfs.ts cpuByCommand): on a shared 2-core machine the time to
 * /readyz follows the CPU the control plane gets, so this is the profile that shows where it went.
 * `init-keygen-cpu-s` is the CPU of the 16 RSA keys init makes; `direct-vs-kubeadm-ratio` the
 * floor of init-readyz-ratio.
 *
 * BENCH_INIT_TRIALS (default 3) sets the number of rounds; BENCH_QUICK=1 is one round (a smoke run
 * for `npm test`); BENCH_INIT_SIDES=kubeadm,cri limits the sides; BENCH_INIT_VERBOSE=1 prints every
 * output line of the init commands, and the agent's log, with its time; BENCH_INIT_KEEP_LOGS=<dir>
 * copies the control plane's logs there; BENCH_INIT_BASE=<checkout, built> adds the sides
 * `cri-base` and `process-base` (kubestrap from that checkout) for an A/B in the same rounds.
 */
import { cp, mkdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { AGENT_PATHS } from '../src/agent/daemon.js';
import { Host } from '../src/host/host.js';
import { kubeClient, type KubeClient } from '../src/kube/client.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { probeOnce } from '../src/net/http-probe.js';
import { initArgs, nodeInitFlags, resetControlPlane } from '../test/support/cluster.js';
import { components, DEFAULT_IMAGES } from '../test/support/components.js';
import { stageImageBinaries } from '../test/support/image-binaries.js';
import { buildCli, CONTROL_PLANE, kubestrap, REPO } from '../test/support/init-e2e.js';
import { runWithLines, type Proc } from '../test/support/proc.js';
import { hostCommand } from '../test/support/static-pods.js';
import { startTestbed, type TestbedNode } from '../test/support/testbed.js';
import { cpuByCommand, cpuSince, type CommandCpu } from './lib/procfs.js';
import { kubeadmInit, kubeadmReset } from './lib/vs-kubeadm.js';

const QUICK = process.env.BENCH_QUICK === '1';
const TRIALS = Number(process.env.BENCH_INIT_TRIALS ?? (QUICK ? 1 : 3));
const VERBOSE = process.env.BENCH_INIT_VERBOSE === '1';
/** A directory to copy the control plane's logs into (kubestrap's pod logs, the direct start's output), one dir per trial. */
const KEEP_LOGS = process.env.BENCH_INIT_KEEP_LOGS;
const SIDES = ['kubeadm', 'cri', 'process', 'direct'] as const;
/** `cri-base` / `process-base`: kubestrap from the checkout in BENCH_INIT_BASE (an A/B of a change, in the same rounds). */
type Side = (typeof SIDES)[number] | 'cri-base' | 'process-base';
const BASE = process.env.BENCH_INIT_BASE;
const CHOSEN: readonly Side[] = process.env.BENCH_INIT_SIDES ? (process.env.BENCH_INIT_SIDES.split(',') as Side[]) : SIDES;
const NODE = 'benchcp';
const POLL_MS = 50;
const TIMEOUT_MS = 180_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Output lines whose first appearance is worth a timestamp (kubeadm's wording; ours follows it). */
const MARKS: readonly [string, RegExp][] = [
  ['preflight', /^\[preflight\] Running/],
  ['certs', /^\[certs\] /],
  ['kubeconfig', /^\[kubeconfig\] /],
  ['kubelet-start', /^\[kubelet-start\] Starting|^\[agent\] Started/],
  ['wait-control-plane', /^\[wait-control-plane\]|^\[control-plane-check\] Waiting/],
  ['upload-config', /^\[upload-config\]/],
];

interface Trial {
  readyzS: number;
  /** All four mirror pods Running (not for direct). */
  mirrorsS?: number;
  /** The init command's exit. */
  exitS?: number;
  marks: Record<string, number>;
  notes: string[];
  /** CPU per command in the node from the start to /readyz. */
  cpu?: Map<string, CommandCpu>;
}

/** Polls /readyz and then the mirror pods from the host, until both are seen or `deadline`. */
class Watch {
  readyAt: number | undefined;
  /** CPU per command in the node from the watch's start to /readyz first ok. */
  cpuAtReady: Map<string, CommandCpu> | undefined;
  private readonly cpuAtStart: Promise<Map<string, CommandCpu> | undefined>;
  mirrorsAt: number | undefined;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly node: TestbedNode,
    private readonly mirrors: boolean,
    deadline: number,
  ) {
    this.cpuAtStart = cpuByCommand(node.netns).catch(() => undefined);
    this.done = this.run(deadline);
  }

  stop(): void {
    this.stopped = true;
  }

  private async run(deadline: number): Promise<void> {
    const url = `https://${this.node.ip}:6443/readyz`;
    while (this.readyAt === undefined && !this.stopped && performance.now() < deadline) {
      if (await probeOnce(url, 1000)) this.readyAt = performance.now();
      else await sleep(POLL_MS);
    }
    if (this.readyAt !== undefined) {
      const now = await cpuByCommand(this.node.netns).catch(() => undefined);
      if (now) this.cpuAtReady = cpuSince(now, await this.cpuAtStart);
    }
    if (!this.mirrors) return;
    let client: KubeClient | undefined;
    const names = new Set(CONTROL_PLANE.map((c) => `${c}-${NODE}`));
    while (this.mirrorsAt === undefined && !this.stopped && performance.now() < deadline) {
      client ??= await kubeClient('/etc/kubernetes/super-admin.conf', new Host(this.node.rootfs)).catch(() => undefined);
      const pods = await client?.core.listNamespacedPod({ namespace: 'kube-system' }).catch(() => undefined);
      const running = (pods?.items ?? []).filter(
        (p) => names.has(p.metadata?.name ?? '') && p.metadata?.annotations?.['kubernetes.io/config.mirror'] && p.status?.phase === 'Running',
      );
      if (running.length === names.size) this.mirrorsAt = performance.now();
      else await sleep(POLL_MS);
    }
  }
}

/** A line handler noting the marks' first moments (and printing every line when VERBOSE). */
function marker(side: Side, t0: number, marks: Record<string, number>): (line: string) => void {
  return (line) => {
    const at = (performance.now() - t0) / 1000;
    if (VERBOSE) console.log(`#   ${at.toFixed(3)} ${side}: ${line.slice(0, 160)}`);
    for (const [name, re] of MARKS) if (marks[name] === undefined && re.test(line)) marks[name] = at;
  };
}

/** Waits for the watch after the command exited: what it has not seen within `graceMs` is a failure. */
async function finish(watch: Watch, t0: number, exitAt: number, output: string, code: number, side: Side, graceMs = 120_000): Promise<Trial> {
  if (code !== 0) {
    watch.stop();
    await watch.done;
    throw new Error(`${side}: init exited ${code}:\n${output.trim().split('\n').slice(-30).join('\n')}`);
  }
  const deadline = exitAt + graceMs;
  while ((watch.readyAt === undefined || watch.mirrorsAt === undefined) && performance.now() < deadline) await sleep(POLL_MS);
  watch.stop();
  await watch.done;
  if (watch.readyAt === undefined || watch.mirrorsAt === undefined) throw new Error(`${side}: /readyz or the mirror pods never came`);
  return {
    readyzS: (watch.readyAt - t0) / 1000,
    mirrorsS: (watch.mirrorsAt - t0) / 1000,
    exitS: (exitAt - t0) / 1000,
    marks: {},
    notes: [],
    cpu: watch.cpuAtReady,
  };
}

async function kubeadmSide(node: TestbedNode): Promise<Trial> {
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  const watch = new Watch(node, true, t0 + TIMEOUT_MS);
  const r = await kubeadmInit(node, marker('kubeadm', t0, marks), TIMEOUT_MS);
  const exitAt = performance.now();
  try {
    const trial = await finish(watch, t0, exitAt, r.output, r.code, 'kubeadm');
    return { ...trial, marks };
  } finally {
    const notes = await kubeadmReset(node, r.kubelet);
    if (notes.length > 0) console.log(`#   kubeadm reset: ${notes.join('; ')}`);
  }
}

async function kubestrapSide(node: TestbedNode, side: 'cri' | 'process' | 'cri-base' | 'process-base'): Promise<Trial> {
  const runtime = side.startsWith('cri') ? 'cri' : 'process';
  const repo = side.endsWith('-base') ? BASE : REPO;
  if (repo === undefined) throw new Error(`side ${side} needs BENCH_INIT_BASE (a checkout of the baseline, built)`);
  if (runtime === 'process') await stageImageBinaries(node.rootfs);
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  const epoch0 = Date.now();
  const watch = new Watch(node, true, t0 + TIMEOUT_MS);
  const r = await runWithLines([...node.launcher, process.execPath, path.join(repo, 'bin/kubestrap.js'), ...initArgs(node, runtime)], {
    timeoutMs: TIMEOUT_MS,
    onLine: marker(side, t0, marks),
  });
  const exitAt = performance.now();
  try {
    const trial = await finish(watch, t0, exitAt, r.output, r.code, side);
    if (VERBOSE) await printAgentLog(node, side, epoch0);
    if (KEEP_LOGS) await cp(path.join(node.rootfs, 'var/log/pods'), path.join(KEEP_LOGS, `${side}-${Date.now()}`), { recursive: true });
    return { ...trial, marks };
  } finally {
    const notes = await resetControlPlane(node);
    if (notes.length > 0) console.log(`#   kubestrap reset: ${notes.join('; ')}`);
  }
}

/** The agent's log (logfmt, ISO times) with each line's time since the init command's start. */
async function printAgentLog(node: TestbedNode, side: Side, epoch0: number): Promise<void> {
  const text = await readFile(path.join(node.rootfs, AGENT_PATHS.log), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const at = Date.parse(line.slice(0, 24));
    if (!Number.isNaN(at)) console.log(`#   ${((at - epoch0) / 1000).toFixed(3)} ${side} agent: ${line.slice(25, 185)}`);
  }
}

async function directSide(node: TestbedNode): Promise<Trial> {
  const rootfs = node.rootfs;
  const flags = ['--rootfs', rootfs, ...nodeInitFlags(node)];
  for (const phase of [
    ['certs', 'all'],
    ['kubeconfig', 'all'],
    ['etcd', 'local'],
    ['control-plane', 'all'],
  ]) {
    const r = await kubestrap(['init', 'phase', ...phase, ...flags]);
    if (r.code !== 0) throw new Error(`init phase ${phase.join(' ')}: ${r.stderr.trim()}`);
  }
  await mkdir(path.join(rootfs, 'var/lib/etcd'), { recursive: true, mode: 0o700 });
  const manifests = path.join(rootfs, 'etc/kubernetes/manifests');
  const commands = await Promise.all(['etcd.yaml', 'kube-apiserver.yaml'].map((f) => hostCommand(path.join(manifests, f), rootfs)));
  const procs: Proc[] = [];
  const t0 = performance.now();
  const watch = new Watch(node, false, t0 + TIMEOUT_MS);
  try {
    // like a kubelet, both start at once; the API server retries etcd until it answers
    procs.push(...(await Promise.all(commands.map((c) => node.spawn(path.basename(c.binary), c.binary, c.args)))));
    await watch.done;
    if (watch.readyAt === undefined) throw new Error('direct: /readyz never answered ok');
    return { readyzS: (watch.readyAt - t0) / 1000, marks: {}, notes: [], cpu: watch.cpuAtReady };
  } finally {
    watch.stop();
    for (const p of procs.reverse()) await p.stop(10_000);
    if (KEEP_LOGS) for (const p of procs) await cp(p.logFile, path.join(KEEP_LOGS, `direct-${Date.now()}`, path.basename(p.logFile)));
  }
}

/** One trial of `side` on a fresh bed node, torn down after. */
async function trial(side: Side): Promise<Trial> {
  const bed = await startTestbed({ nodes: [NODE], containerd: true, privateMounts: true, images: [...DEFAULT_IMAGES, 'kube-proxy', 'coredns'] });
  try {
    const node = bed.node(NODE);
    if (side === 'kubeadm') return await kubeadmSide(node);
    if (side === 'direct') return await directSide(node);
    return await kubestrapSide(node, side);
  } finally {
    await bed.stop();
  }
}

/** ca, apiserver, apiserver-kubelet-client, front-proxy-ca, front-proxy-client, etcd/ca, apiserver-etcd-client, sa. */
const APISERVER_KEYS = 8;

/** The RSA keys `kubestrap init` makes: 11 of the certs phase (sa included) and 5 kubeconfig clients. */
const INIT_KEYS = 16;

/** Medians of 3: the eight apiserver keys generated at once (wall s), and the CPU seconds of all 16 init makes. */
async function keygenSeconds(): Promise<{ apiserverS: number; allCpuS: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < (QUICK ? 1 : 3); i++) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: APISERVER_KEYS }, () => generateKeyPair('RSA-2048')));
    wall.push((performance.now() - t0) / 1000);
    const c0 = process.cpuUsage();
    await Promise.all(Array.from({ length: INIT_KEYS }, () => generateKeyPair('RSA-2048')));
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { apiserverS: median(wall), allCpuS: median(cpu) };
}

/** `total 5.1: kube-apiserver 3.2 (waited 0.4), etcd 0.6 (...), ...`, largest first, under 0.05 s left out. */
function cpuLine(cpu: Map<string, CommandCpu>): string {
  const total = [...cpu.values()].reduce((a, b) => a + b.cpuS, 0);
  const parts = [...cpu].filter(([, c]) => c.cpuS >= 0.05).sort((a, b) => b[1].cpuS - a[1].cpuS);
  return `total ${total.toFixed(2)}: ${parts.map(([n, c]) => `${n} ${c.cpuS.toFixed(2)} (waited ${c.waitS.toFixed(2)})`).join(', ')}`;
}

const fmt = (x: number): string => (Number.isNaN(x) ? 'n/a' : x.toFixed(2));

async function main(): Promise<void> {
  console.log(`# ${await buildCli()} (${REPO})`);
  // kubeClient() loads client-node on first use (≈ 1 s): load it now, not inside the first measurement
  await import('@kubernetes/client-node');
  console.log(
    `# rounds: ${TRIALS}${QUICK ? ' (quick mode: the figures mean nothing)' : ''}; sides ${CHOSEN.join(', ')}; kubeadm and kubelet ${components().binaries.kubeadm.version}; node ${process.version}; RSA-2048 keys; load average ${load()}`,
  );
  const keys = await keygenSeconds();
  const keysS = keys.apiserverS;
  const results = new Map<Side, Trial[]>(CHOSEN.map((s) => [s, []]));
  for (let i = 0; i < TRIALS; i++) {
    // rotate the order so a warm page cache or a load spike does not favour one side
    const order = CHOSEN.map((_, k) => CHOSEN[(k + i) % CHOSEN.length]!);
    for (const side of order) {
      const before = load();
      const t = await trial(side);
      results.get(side)!.push(t);
      const marks = Object.entries(t.marks)
        .sort((a, b) => a[1] - b[1])
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ');
      console.log(
        `# round ${i + 1} ${side}: readyz ${t.readyzS.toFixed(2)} s` +
          (t.mirrorsS !== undefined ? `, mirrors Running ${t.mirrorsS.toFixed(2)} s, exit ${t.exitS!.toFixed(2)} s` : '') +
          ` (load ${before}${marks ? `; at s: ${marks}` : ''})`,
      );
      if (t.cpu) console.log(`#   ${side} CPU s to readyz (and run-queue wait): ${cpuLine(t.cpu)}`);
    }
  }
  const med = (side: Side, f: (t: Trial) => number | undefined): number => median((results.get(side) ?? []).map(f).filter((x): x is number => x !== undefined));
  const readyz = (s: Side): number => med(s, (t) => t.readyzS);
  const mirrors = (s: Side): number => med(s, (t) => t.mirrorsS);
  console.log(`kubeadm-init-readyz-s: ${fmt(readyz('kubeadm'))}`);
  console.log(`kubestrap-init-readyz-s: ${fmt(readyz('cri'))} / ${fmt(readyz('process'))} (cri / process)`);
  console.log(`direct-to-readyz-s: ${fmt(readyz('direct'))}`);
  console.log(`kubeadm-init-mirrors-s: ${fmt(mirrors('kubeadm'))}`);
  console.log(`kubestrap-init-mirrors-s: ${fmt(mirrors('cri'))} / ${fmt(mirrors('process'))} (cri / process)`);
  const after = (s: Side): string => {
    const ms = med(s, (t) => (t.mirrorsS === undefined ? undefined : (t.mirrorsS - t.readyzS) * 1000));
    return Number.isNaN(ms) ? 'n/a' : ms.toFixed(0);
  };
  console.log(`mirrors-running-after-readyz-ms: ${after('cri')} / ${after('process')} (cri / process; kubeadm ${after('kubeadm')})`);
  if (CHOSEN.some((s) => s.endsWith('-base'))) {
    console.log(`base-init-readyz-s: ${fmt(readyz('cri-base'))} / ${fmt(readyz('process-base'))} (cri / process, ${BASE})`);
    console.log(`base-init-mirrors-s: ${fmt(mirrors('cri-base'))} / ${fmt(mirrors('process-base'))}`);
    console.log(`base-mirrors-running-after-readyz-ms: ${after('cri-base')} / ${after('process-base')}`);
  }
  console.log(`apiserver-keys-s: ${keysS.toFixed(2)}`);
  console.log(`keygen-floor-ratio: ${fmt((readyz('direct') + keysS) / readyz('direct'))}`);
  // on 2 cores the 16 keys' CPU is what init cannot hide behind anything (the control plane needs most of them first)
  console.log(`init-keygen-cpu-s: ${keys.allCpuS.toFixed(2)} (${INIT_KEYS} RSA-2048 keys, this process)`);
  console.log(`direct-vs-kubeadm-ratio: ${fmt(readyz('direct') / readyz('kubeadm'))} (the physical limit ÷ kubeadm; init-readyz-ratio cannot be lower)`);
  console.log(`load-average-end: ${load()}`);
  console.log(`init-readyz-ratio: ${fmt(readyz('cri') / readyz('kubeadm'))} / ${fmt(readyz('process') / readyz('kubeadm'))} (cri / process ÷ kubeadm)`);
  console.log(`init-mirrors-ratio: ${fmt(mirrors('cri') / mirrors('kubeadm'))} / ${fmt(mirrors('process') / mirrors('kubeadm'))} (cri / process ÷ kubeadm)`);
  console.log(`init-overhead-ratio: ${fmt(readyz('cri') / readyz('direct'))} / ${fmt(readyz('process') / readyz('direct'))} (cri / process ÷ direct start)`);
}

await main();
