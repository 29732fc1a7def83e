/**
 * The static-pod lifecycle against the real kubelet (issue 15): the kubelet in standalone mode
 * (staticPodPath, no API server; test/support/kubelet.ts) and then a real `kubestrap agent --runtime
 * cri` child, both in the same test bed node on the node's private containerd, one after the other
 * (never both at once: the kubelet kills running pods it does not know), in blocks A B B A.
 * One observer for both: CRI ListContainers on that containerd, polled every POLL_MS, so neither
 * side's own idea of "running" is trusted.
 *
 * Per trial a new pod (the kubelet's crash back-off is per container name, so a reused name would
 * measure the back-off): manifest renamed into place → a RUNNING container (create: written to a
 * temp file of the manifest dir, fsynced, then rename(2), timed from the rename — how kubestrap and
 * tools that write atomically put a file there); its process SIGKILLed →
 * a RUNNING container with another id (restart); the manifest edited → the old container not running
 * and a new one running (edit); the manifest deleted → no RUNNING container (delete); another pod's
 * manifest written in place (writeFile, as kubeadm's os.WriteFile) → RUNNING (create-inplace). Then N idle
 * pods: utime+stime and VmRSS of the kubelet / agent process itself over an idle window.
 * Between the sides every sandbox is removed through the CRI, so each starts on an empty containerd.
 *
 * The floor of create, in its own block between the sides while neither runs: the same pod (resolved
 * from the same manifest, the agent's sandbox and container configs) created directly through the
 * CRI client — RunPodSandbox, CreateContainer, StartContainer, one after the other, as both sides
 * must — timed from just before RunPodSandbox until the same observer sees it RUNNING.
 */
import { mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_NODE_FLAGS } from '../../src/agent/daemon.js';
import type { CriClient } from '../../src/cri/client.js';
import { components } from '../../test/support/components.js';
import { Host } from '../../src/host/host.js';
import { startKubelet } from '../../test/support/kubelet.js';
import type { Proc } from '../../test/support/proc.js';
import { startTestbed, type TestbedNode } from '../../test/support/testbed.js';
import { directPod, removeSandbox, runDirect } from './cri-direct.js';
import { criPod } from './manifests.js';
import { cpuTicks, rssKiB } from './procfs.js';

/** How often the observer lists containers: the resolution of every lifecycle figure. */
const POLL_MS = 10;
const NODE = 'kvsa';
/** Alternating blocks of lifecycle trials per side (A B B A ...). */
const LIFECYCLE_BLOCKS = 2;
const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const MANIFESTS = '/etc/kubernetes/manifests';

export type Side = 'kubelet' | 'ours';
export const SIDES: readonly Side[] = ['kubelet', 'ours'];
export const LIFECYCLE = ['create', 'restart', 'edit', 'delete', 'create-inplace'] as const;
export type Lifecycle = (typeof LIFECYCLE)[number];

export interface IdleFigures {
  cpuPct: number;
  rssMiB: number;
  /** Manifests written → all their containers RUNNING (ms), for the added pods. */
  startMs: number;
}

export interface SideResult {
  lifecycle: Record<Lifecycle, number[]>;
  /** By pod count. */
  idle: Map<number, IdleFigures>;
}

export interface VsKubeletResult {
  sides: Record<Side, SideResult>;
  /** Create through the CRI client directly (ms), the physical floor of `create`. */
  createFloor: number[];
}

export interface VsKubeletOptions {
  trials: number;
  /** Ascending pod counts of the idle figures (pods are added up to each count). */
  podCounts: readonly number[];
  settleS: number;
  idleS: number;
  /** bin/kubestrap.js of the freshly built CLI. */
  bin: string;
  clkTck: number;
  log: (line: string) => void;
}

interface Running {
  proc: Proc;
  manifests: string;
}

/** The pause image's pod; each `generation` is another static pod of the same name. */
const pod = (name: string, generation: number): string => criPod(name, components().images.pause.ref, generation);

async function runningIds(cri: CriClient, podName: string): Promise<string[]> {
  const { containers } = await cri.runtime.listContainers({ filter: { labelSelector: { 'io.kubernetes.pod.name': podName } } });
  return containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.id);
}

/** Polls `check` until it holds; resolves with the ms since `t0`. */
async function until(what: string, t0: number, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function containerPid(cri: CriClient, id: string): Promise<number> {
  const { info } = await cri.runtime.containerStatus({ containerId: id, verbose: true });
  const pid = (JSON.parse(info.info ?? '{}') as { pid?: number }).pid;
  if (!pid) throw new Error(`no pid for container ${id}`);
  return pid;
}

/** One trial of the lifecycle for pod `name`; pushes each figure. */
async function trial(cri: CriClient, dir: string, name: string, out: Record<Lifecycle, number[]> | undefined): Promise<void> {
  const full = `${name}-${NODE}`;
  const file = path.join(dir, `${name}.yaml`);
  const ids = (): Promise<string[]> => runningIds(cri, full);
  const tmp = path.join(dir, `.${name}.yaml.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  await fh.writeFile(pod(name, 0));
  await fh.sync();
  await fh.close();
  let t = performance.now();
  await rename(tmp, file);
  const create = await until(`${full} running`, t, async () => (await ids()).length === 1);
  const [first] = await ids();

  const pid = await containerPid(cri, first!);
  t = performance.now();
  process.kill(pid, 'SIGKILL');
  const restart = await until(`${full} running again after kill`, t, async () => {
    const now = await ids();
    return now.length === 1 && now[0] !== first;
  });
  const [second] = await ids();

  t = performance.now();
  await writeFile(file, pod(name, 1));
  const edit = await until(`${full} replaced after edit`, t, async () => {
    const now = await ids();
    return now.length === 1 && now[0] !== second;
  });

  t = performance.now();
  await unlink(file);
  const del = await until(`${full} gone after delete`, t, async () => (await ids()).length === 0);

  const inplace = path.join(dir, `${name}-w.yaml`);
  const fullInplace = `${name}-w-${NODE}`;
  t = performance.now();
  await writeFile(inplace, pod(`${name}-w`, 0));
  const createInplace = await until(`${fullInplace} running`, t, async () => (await runningIds(cri, fullInplace)).length === 1);
  await unlink(inplace);
  await until(`${fullInplace} gone`, performance.now(), async () => (await runningIds(cri, fullInplace)).length === 0);
  if (out) {
    out['create-inplace'].push(createInplace);
    out.create.push(create);
    out.restart.push(restart);
    out.edit.push(edit);
    out.delete.push(del);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function runningIdle(cri: CriClient): Promise<number> {
  const { containers } = await cri.runtime.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } });
  return containers.filter((c) => c.labels['io.kubernetes.pod.name']?.startsWith('idle-')).length;
}

async function idle(cri: CriClient, side: Running, o: VsKubeletOptions): Promise<Map<number, IdleFigures>> {
  const result = new Map<number, IdleFigures>();
  let written = 0;
  for (const n of o.podCounts) {
    const t0 = performance.now();
    for (; written < n; written++) await writeFile(path.join(side.manifests, `idle-${String(written).padStart(3, '0')}.yaml`), pod(`idle-${written}`, 0));
    const startMs = await until(`${n} idle pods running`, t0, async () => (await runningIdle(cri)) === n, 600_000);
    await sleep(o.settleS * 1000);
    const pid = side.proc.pid;
    const rss: number[] = [];
    const c0 = await cpuTicks(pid);
    const w0 = performance.now();
    while (performance.now() - w0 < o.idleS * 1000) {
      rss.push(await rssKiB(pid));
      await sleep(500);
    }
    const cpuPct = (((await cpuTicks(pid)) - c0) / o.clkTck / ((performance.now() - w0) / 1000)) * 100;
    result.set(n, { cpuPct, rssMiB: median(rss) / 1024, startMs });
    o.log(`${n} idle pods: started in ${startMs.toFixed(0)} ms, cpu ${cpuPct.toFixed(2)} %, rss ${(median(rss) / 1024).toFixed(1)} MiB`);
  }
  for (let i = 0; i < written; i++) await rm(path.join(side.manifests, `idle-${String(i).padStart(3, '0')}.yaml`));
  await until('idle pods gone', performance.now(), async () => (await runningIdle(cri)) === 0, 300_000);
  return result;
}

/**
 * One create of the floor: pod `name` run directly through the CRI; the observer polls from just
 * before RunPodSandbox, as it polls from the rename in trial(). Its sandbox is removed after.
 */
async function floorTrial(cri: CriClient, node: TestbedNode, name: string, imageRef: string): Promise<number> {
  const host = new Host(path.join(node.dir, 'floor-rootfs'));
  const p = await directPod({ host, manifest: pod(name, 0), origin: path.join(MANIFESTS, `${name}.yaml`), nodeName: NODE, imageRef, nodeIP: node.ip });
  const t = performance.now();
  const seen = until(`${p.pod.name} running (direct CRI)`, t, async () => (await runningIds(cri, p.pod.name)).length === 1);
  seen.catch(() => undefined); // a failed run rejects first; the poll's own failure must not go unhandled
  const run = runDirect(cri, p);
  const [ms, { sandboxId }] = await Promise.all([seen, run]);
  await removeSandbox(cri, sandboxId);
  return ms;
}

/** `n` floor creates after a warm-up; nothing else runs on the containerd meanwhile. */
async function floorBlock(cri: CriClient, node: TestbedNode, block: number, n: number, out: number[], o: VsKubeletOptions): Promise<void> {
  const { image } = await cri.image.imageStatus({ image: { image: components().images.pause.ref } });
  if (!image) throw new Error("the pause image is missing from the node's containerd");
  await floorTrial(cri, node, `f-warm${block}`, image.id);
  const t = performance.now();
  for (let i = 0; i < n; i++) out.push(await floorTrial(cri, node, `f-lc${block}x${i}`, image.id));
  o.log(`cri floor: ${n} creates in ${((performance.now() - t) / 1000).toFixed(1)} s, block ${block + 1}, load ${loadavg()}`);
  await wipe(cri);
}

/**
 * Every sandbox (and so container) on the node's containerd, removed. Right after the kubelet's stop
 * a shim may still be going away ("ttrpc: closed"): such a sandbox is tried again.
 */
async function wipe(cri: CriClient): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { items } = await cri.runtime.listPodSandbox({});
    if (items.length === 0) return;
    try {
      for (const s of items) {
        await cri.runtime.stopPodSandbox({ podSandboxId: s.id });
        await cri.runtime.removePodSandbox({ podSandboxId: s.id });
      }
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(500);
    }
  }
}

async function startSide(side: Side, node: TestbedNode, o: VsKubeletOptions, bed: Parameters<typeof startKubelet>[0]): Promise<Running> {
  if (side === 'kubelet') {
    const k = await startKubelet(bed, node, { extraArgs: [`--hostname-override=${NODE}`] });
    return { proc: k.proc, manifests: k.paths.staticPodPath };
  }
  const rootfs = path.join(node.dir, 'ours-rootfs');
  await mkdir(path.join(rootfs, MANIFESTS), { recursive: true });
  // the agent's node flags as init's daemon and the systemd unit start it
  const args = [...AGENT_NODE_FLAGS, o.bin, 'agent', '--runtime', 'cri', '--container-runtime-endpoint', node.containerd!.endpoint, '--rootfs', rootfs];
  args.push('--pod-manifest-path', MANIFESTS, '--node-name', NODE, '--read-only-port', '0', '--stop-pods-on-exit');
  const proc = await node.spawn('kubestrap agent', process.execPath, args, { env: { ...process.env, NODE_OPTIONS: '' } });
  return { proc, manifests: path.join(rootfs, MANIFESTS) };
}

export async function benchVsKubelet(o: VsKubeletOptions): Promise<VsKubeletResult> {
  const bed = await startTestbed({ nodes: ['n1'], containerd: true, images: ['pause'] });
  try {
    const node = bed.node('n1');
    const cri = node.containerd!.cri;
    const results = {} as Record<Side, SideResult>;
    const emptyLifecycle = (): Record<Lifecycle, number[]> => ({ create: [], restart: [], edit: [], delete: [], 'create-inplace': [] });
    const lifecycles: Record<Side, Record<Lifecycle, number[]>> = { kubelet: emptyLifecycle(), ours: emptyLifecycle() };
    // The machine's load changes within minutes (other work shares it): the trials run in blocks,
    // A B B A, so both sides see the same load on average; the idle figures come from each side's last block.
    const blocks = Math.min(LIFECYCLE_BLOCKS, o.trials);
    const createFloor: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const n = Math.floor(o.trials / blocks) + (b < o.trials % blocks ? 1 : 0);
      const order = b % 2 === 0 ? SIDES : [...SIDES].reverse();
      for (const side of order) {
        // the floor between the sides of each block: A floor B | B floor A
        if (side !== order[0]) await floorBlock(cri, node, b, n, createFloor, o);
        const t = performance.now();
        const running = await startSide(side, node, o, bed);
        // warm-up, which also waits for the side to be ready: its first pod may take the start-up
        await trial(cri, running.manifests, `${side[0]}-warm${b}`, undefined);
        o.log(
          `${side}: started and warmed up in ${((performance.now() - t) / 1000).toFixed(1)} s (pid ${running.proc.pid}, ${(await readFile(`/proc/${running.proc.pid}/comm`, 'utf8')).trim()}), block ${b + 1}/${blocks}, load ${loadavg()}`,
        );
        for (let i = 0; i < n; i++) await trial(cri, running.manifests, `${side[0]}-lc${b}x${i}`, lifecycles[side]);
        if (b === blocks - 1) results[side] = { lifecycle: lifecycles[side], idle: await idle(cri, running, o) };
        await running.proc.stop(30_000);
        await wipe(cri);
      }
    }
    return { sides: results, createFloor };
  } finally {
    await bed.stop();
  }
}
