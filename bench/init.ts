/**
 * init benchmark, in one run with interleaved trials (each trial resets):
 *  - ours: `kubestrap init --rootfs <tmp> --runtime process` from its start to the API server's
 *    /readyz answering ok (polled concurrently every 50 ms), and from that moment to the
 *    kube-apiserver mirror pod being visible through the API (super-admin.conf: admin.conf is not
 *    authorized before the cluster-admins phase);
 *  - direct (the reference): the same etcd + kube-apiserver — the command lines of the manifests
 *    init wrote, paths mapped into the rootfs (test/support/static-pods.ts) — started at once as
 *    plain processes, to /readyz ok. Writing the certificates and manifests is not timed there.
 *
 * Prints per-trial figures, the medians `init-to-readyz-s`, `direct-to-readyz-s`,
 * `mirror-visible-after-readyz-ms`, and last `init-overhead-ratio: <ours/direct>` (target ≤ 1.3;
 * mirror target ≤ 1000 ms). BENCH_INIT_TRIALS (default 5) sets the number of trials; BENCH_QUICK=1
 * is one trial (a smoke run for `npm test`).
 *
 * Also, measured in this process: `apiserver-keys-s`, the time to generate (as init does, all at
 * once) the eight keys kube-apiserver reads at start-up, and `keygen-floor-ratio` = (direct +
 * that) / direct — what no init making a fresh PKI can beat on this machine, since kube-apiserver
 * cannot start before those files exist. With RSA-2048 on a small VM it is above the target.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { kubeClient } from '../src/kube/client.js';
import { Host } from '../src/host/host.js';
import { generateKeyPair } from '../src/pki/keys.js';
import type { EncryptionAlgorithm } from '../src/config/types.js';
import { probeOnce } from '../src/net/http-probe.js';
import { stageImageBinaries } from '../test/support/image-binaries.js';
import { APISERVER, buildCli, forceCleanup, INIT_PORTS, kubestrap, REPO } from '../test/support/init-e2e.js';
import { waitPortsFree, type Proc } from '../test/support/proc.js';
import { startFromManifest } from '../test/support/static-pods.js';
import { suiteRelease, suiteVersionFlags } from '../test/support/components.js';

/** BENCH_QUICK=1: one trial, one key-generation run; proves the bench runs (npm test), measures nothing. */
const QUICK = process.env.BENCH_QUICK === '1';
const TRIALS = Number(process.env.BENCH_INIT_TRIALS ?? (QUICK ? 1 : 5));
/** kubeadm's encryptionAlgorithm; default RSA-2048 (kubeadm's). ECDSA-P256 shows init without the RSA keygen cost. */
const ALGORITHM = process.env.BENCH_INIT_ALGORITHM ?? 'RSA-2048';
const NODE = 'bench-init';
const POLL_MS = 50;
const TIMEOUT_MS = 180_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Resolves with performance.now() of the first ok /readyz. */
async function firstReadyz(deadline: number, abort: { stop: boolean }): Promise<number> {
  while (performance.now() < deadline && !abort.stop) {
    if (await probeOnce(`${APISERVER}/readyz`, 1000)) return performance.now();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error('/readyz never answered ok');
}

interface OursTrial {
  readyzS: number;
  mirrorMs: number;
  initS: number;
  /** Seconds from start to the first output line of some phases (where the time goes). */
  marks: Record<string, number>;
}

/** Output lines whose first appearance is worth a timestamp. */
const MARKS: readonly [string, RegExp][] = [
  ['preflight', /^\[preflight\] Running/],
  ['kubeconfig', /^\[kubeconfig\] Using/],
  ['agent-started', /^\[agent\] Started/],
  ['control-plane-check', /^\[control-plane-check\] Waiting/],
];

/** Runs the CLI, noting when marked output lines appear. */
function runInit(args: readonly string[], t0: number): Promise<{ code: number; output: string; marks: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/kubestrap.js'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const marks: Record<string, number> = {};
    let output = '';
    let partial = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        for (const [name, re] of MARKS) if (marks[name] === undefined && re.test(line)) marks[name] = (performance.now() - t0) / 1000;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, output, marks }));
  });
}

/** The node flags, or with a non-default algorithm a kubeadm config file saying the same. */
async function nodeFlags(rootfs: string): Promise<string[]> {
  if (ALGORITHM === 'RSA-2048') return ['--apiserver-advertise-address', '127.0.0.1', '--node-name', NODE, ...suiteVersionFlags()];
  const file = path.join(rootfs, 'kubeadm.yaml');
  await writeFile(
    file,
    `apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 127.0.0.1\nnodeRegistration:\n  name: ${NODE}\n---\n` +
      `apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: ${suiteRelease().version}\nencryptionAlgorithm: ${ALGORITHM}\n`,
  );
  return ['--config', file];
}

async function ours(): Promise<OursTrial> {
  const rootfs = mkdtempSync(path.join(tmpdir(), 'bench-init-'));
  try {
    const flags = await nodeFlags(rootfs);
    await stageImageBinaries(rootfs);
    await waitPortsFree([...INIT_PORTS], 120_000);
    const abort = { stop: false };
    const t0 = performance.now();
    const init = runInit(['init', '--rootfs', rootfs, '--runtime', 'process', ...flags], t0);
    init.then(
      () => (abort.stop = true),
      () => (abort.stop = true),
    );
    const readyAt = await firstReadyz(t0 + TIMEOUT_MS, abort);
    // super-admin.conf exists long before /readyz: the kubeconfig phase runs before the agent
    const client = await kubeClient('/etc/kubernetes/super-admin.conf', new Host(rootfs));
    let mirrorAt: number | undefined;
    while (mirrorAt === undefined && performance.now() < readyAt + 60_000) {
      const pod = await client.core.readNamespacedPod({ name: `kube-apiserver-${NODE}`, namespace: 'kube-system' }).catch(() => undefined);
      if (pod?.metadata?.annotations?.['kubernetes.io/config.mirror']) mirrorAt = performance.now();
      else await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const result = await init;
    if (result.code !== 0) throw new Error(`init failed: ${result.output.trim()}`);
    if (mirrorAt === undefined) throw new Error('the kube-apiserver mirror pod never appeared');
    if (mirrorAt - readyAt > 1000) {
      // an outlier: show what the agent's API side did meanwhile
      const log = await readFile(path.join(rootfs, 'var/log/kubestrap-agent.log'), 'utf8').catch(() => '');
      for (const line of log
        .split('\n')
        .filter((l) => l.includes('component=mirror-sync'))
        .slice(0, 25))
        console.log(`#   ${line.slice(0, 220)}`);
    }
    return { readyzS: (readyAt - t0) / 1000, mirrorMs: mirrorAt - readyAt, initS: (performance.now() - t0) / 1000, marks: result.marks };
  } finally {
    const notes = await forceCleanup(rootfs);
    if (notes.length > 0) console.log(`#   cleanup: ${notes.join('; ')}`);
  }
}

async function direct(): Promise<number> {
  const rootfs = mkdtempSync(path.join(tmpdir(), 'bench-direct-'));
  const procs: Proc[] = [];
  try {
    const flags = ['--rootfs', rootfs, ...(await nodeFlags(rootfs))];
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
    await waitPortsFree([...INIT_PORTS], 120_000);
    const manifests = path.join(rootfs, 'etc/kubernetes/manifests');
    const logs = path.join(rootfs, 'logs');
    const t0 = performance.now();
    // like a kubelet, both start at once; the API server retries etcd until it answers
    const started = await Promise.all(['etcd.yaml', 'kube-apiserver.yaml'].map((f) => startFromManifest(path.join(manifests, f), rootfs, logs)));
    for (const s of started) procs.push(s.proc);
    const readyAt = await firstReadyz(t0 + TIMEOUT_MS, { stop: false });
    return (readyAt - t0) / 1000;
  } finally {
    for (const p of procs.reverse()) await p.stop(10_000);
    await rm(rootfs, { recursive: true, force: true });
  }
}

/** ca, apiserver, apiserver-kubelet-client, front-proxy-ca, front-proxy-client, etcd/ca, apiserver-etcd-client, sa. */
const APISERVER_KEYS = 8;

/** Median of 3: the eight keys generated at once, as the certs phase starts them. */
async function apiserverKeysSeconds(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < (QUICK ? 1 : 3); i++) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: APISERVER_KEYS }, () => generateKeyPair(ALGORITHM as EncryptionAlgorithm)));
    runs.push((performance.now() - t0) / 1000);
  }
  return median(runs);
}

async function main(): Promise<void> {
  console.log(`# ${await buildCli()} (${REPO})`);
  // kubeClient() loads client-node on first use (≈ 1 s): load it now, not inside the first measurement
  await import('@kubernetes/client-node');
  console.log(
    `# trials: ${TRIALS}${QUICK ? ' (quick mode: the figures mean nothing)' : ''}; node ${process.version}; ${ALGORITHM} keys; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const keysS = await apiserverKeysSeconds();
  const oursTrials: OursTrial[] = [];
  const directTrials: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    // alternate the order so a warm page cache or a load spike does not favour one side
    const order = i % 2 === 0 ? (['ours', 'direct'] as const) : (['direct', 'ours'] as const);
    for (const which of order) {
      if (which === 'ours') {
        const o = await ours();
        oursTrials.push(o);
        const marks = Object.entries(o.marks)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ');
        console.log(
          `# trial ${i + 1} ours: init→readyz ${o.readyzS.toFixed(2)} s, mirror visible +${o.mirrorMs.toFixed(0)} ms, init total ${o.initS.toFixed(2)} s (first lines at s: ${marks})`,
        );
      } else {
        const d = await direct();
        directTrials.push(d);
        console.log(`# trial ${i + 1} direct: etcd+apiserver→readyz ${d.toFixed(2)} s`);
      }
    }
  }
  const oursS = median(oursTrials.map((o) => o.readyzS));
  const directS = median(directTrials);
  console.log(`init-to-readyz-s: ${oursS.toFixed(2)}`);
  console.log(`direct-to-readyz-s: ${directS.toFixed(2)}`);
  console.log(`mirror-visible-after-readyz-ms: ${median(oursTrials.map((o) => o.mirrorMs)).toFixed(0)}`);
  console.log(`apiserver-keys-s: ${keysS.toFixed(2)}`);
  console.log(`keygen-floor-ratio: ${((directS + keysS) / directS).toFixed(2)}`);
  console.log(`init-overhead-ratio: ${(oursS / directS).toFixed(2)}`);
}

await main();
