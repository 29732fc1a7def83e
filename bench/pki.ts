/**
 * PKI benchmark against the real kubeadm, both sides as the CLI a user runs, in one run:
 *  - kubeadm (built by the test harness): `kubeadm init phase certs all --rootfs R --config
 *    /kubeadm.yaml` then `kubeadm init phase kubeconfig all --rootfs R --config /kubeadm.yaml`
 *    (kubeadm chroots into R before it reads the config, hence the path inside R);
 *  - ours (`npm run build` first): `node bin/kubestrap.js init phase certs all --rootfs R --config
 *    R/kubeadm.yaml` then `... init phase kubeconfig all ...`.
 * Same configuration file on both sides (node name, advertise address, kubernetesVersion,
 * encryptionAlgorithm), a fresh empty R per trial, trials interleaved (ours, kubeadm, ours, …) so a
 * change in machine load hits both alike; each trial is timed from the first spawn to the second
 * command's exit: 16 keys, 15 certificates, 5 kubeconfigs, every file written. Both sides must
 * leave the same set of files. Also measured, for reference: the same two phases in this process
 * (no process start-up, modules already loaded).
 *
 * RSA-2048 (kubeadm's default) first, then ECDSA-P256. Prints per-side medians, then
 * `pki-vs-kubeadm-ratio-ecdsa-p256: <ours/kubeadm>` and last `pki-vs-kubeadm-ratio: <ours/kubeadm>`
 * for RSA-2048 (target ≤ 0.5; lower is better). BENCH_PKI_TRIALS (default 5) trials per side;
 * BENCH_QUICK=1: one trial per side.
 *
 * The floor: the keys. kubeadm generates its 16 keys one after another on one core; we generate
 * them at once on the libuv pool, so on N cores we can at best divide that time by N. Printed from
 * the same run: each side's CPU time (user + sys of its processes, from /proc/self/stat's cutime and
 * cstime), node:crypto's CPU time per RSA-2048 key and its share of ours, and `keygen-floor-ratio`: the wall time of just the
 * 16 keys generated at once in this process (what any CLI making them with node:crypto needs at
 * least) ÷ kubeadm's whole median.
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveInitConfig } from '../src/config/resolve.js';
import type { EncryptionAlgorithm } from '../src/config/types.js';
import { Host } from '../src/host/host.js';
import { InitData } from '../src/phases/init/data.js';
import { certsPhase } from '../src/phases/init/certs.js';
import { kubeconfigPhase } from '../src/phases/init/kubeconfig.js';
import { memoryPrinter } from '../src/output.js';
import { Runner } from '../src/phases/runner.js';
import { components, suiteRelease } from '../test/support/components.js';
import { buildCli, REPO } from '../test/support/init-e2e.js';
import { fmt, median } from './lib/stats.js';

const exec = promisify(execFile);
const QUICK = process.env.BENCH_QUICK === '1';
const TRIALS = QUICK ? 1 : Number(process.env.BENCH_PKI_TRIALS ?? 5);
const ALGORITHMS: readonly EncryptionAlgorithm[] = ['RSA-2048', 'ECDSA-P256'];
const CONFIG_NAME = 'kubeadm.yaml';
const CLI = path.join(REPO, 'bin', 'kubestrap.js');

/** The one configuration both sides read. */
function configYaml(alg: EncryptionAlgorithm): string {
  return [
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: InitConfiguration',
    'localAPIEndpoint:',
    '  advertiseAddress: 10.0.0.10',
    'nodeRegistration:',
    '  name: bench-node',
    '---',
    'apiVersion: kubeadm.k8s.io/v1beta4',
    'kind: ClusterConfiguration',
    `kubernetesVersion: ${suiteRelease().version}`,
    `encryptionAlgorithm: ${alg}`,
    '',
  ].join('\n');
}

/** A fresh rootfs holding only the configuration file. */
function freshRoot(alg: EncryptionAlgorithm): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kubestrap-bench-pki-'));
  writeFileSync(path.join(root, CONFIG_NAME), configYaml(alg));
  return root;
}

/** Every file under `root` except the configuration, relative, sorted. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((f) => f !== CONFIG_NAME)
    .sort();
}

interface Trial {
  ms: number;
  /** user + sys of the trial's processes. */
  cpuMs: number;
  files: string[];
}

/** CPU time (ms) of this process's waited-for children so far: cutime + cstime of /proc/self/stat. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17, in clock ticks (USER_HZ = 100)
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Runs `commands` one after another in a fresh rootfs; wall-clock time of all of them. */
async function timed(alg: EncryptionAlgorithm, commands: (root: string) => [string, string[]][]): Promise<Trial> {
  const root = freshRoot(alg);
  try {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    for (const [file, args] of commands(root)) await exec(file, args, { maxBuffer: 4 << 20 });
    const ms = performance.now() - t0;
    return { ms, cpuMs: childrenCpuMs() - cpu0, files: filesUnder(root) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const PHASES = ['certs', 'kubeconfig'] as const;

function oursCli(alg: EncryptionAlgorithm): Promise<Trial> {
  return timed(alg, (root) =>
    PHASES.map((p) => [process.execPath, [CLI, 'init', 'phase', p, 'all', '--rootfs', root, '--config', path.join(root, CONFIG_NAME)]]),
  );
}

function kubeadm(alg: EncryptionAlgorithm): Promise<Trial> {
  const bin = components().binaries.kubeadm.path;
  return timed(alg, (root) => PHASES.map((p) => [bin, ['init', 'phase', p, 'all', '--rootfs', root, '--config', `/${CONFIG_NAME}`]]));
}

/** The same two phases in this process: what is left without process start-up and module loading. */
async function oursInProcess(alg: EncryptionAlgorithm): Promise<number> {
  const root = freshRoot(alg);
  try {
    const t0 = performance.now();
    for (const phase of [certsPhase, kubeconfigPhase]) {
      const config = await resolveInitConfig({ config: path.join(root, CONFIG_NAME) });
      const ctx = new InitData({ config, host: new Host(root), out: memoryPrinter(), dryRun: false, uploadCerts: false });
      await new Runner([phase]).run(ctx);
    }
    return performance.now() - t0;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Mean CPU time of one RSA-2048 key made by node:crypto (OpenSSL) in this process, one at a time
 * (CPU, not wall: other load on the machine does not inflate it; mean: the cost of many keys).
 */
function nodeKeygenCpuMs(n: number): number {
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const { user, system } = process.cpuUsage(cpu0);
  return (user + system) / 1000 / n;
}

/** Wall time of `n` RSA-2048 keys generated at once on the libuv pool, as our certs phases start them. */
async function parallelKeysMs(n: number): Promise<number> {
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      generateKeyPair('rsa', { modulusLength: 2048, publicExponent: 0x10001 }, (err) => (err ? reject(err) : resolve()));
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, one));
  return performance.now() - t0;
}

function line(label: string, times: readonly number[], cpu?: readonly number[]): number {
  const m = median(times);
  const cpuText = cpu ? `  cpu median ${fmt(median(cpu)).padStart(6)} ms` : '';
  console.log(`${label.padEnd(44)} median ${fmt(m).padStart(6)} ms${cpuText}  runs [${times.map((t) => t.toFixed(0)).join(', ')}]`);
  return m;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
if (process.getuid?.() !== 0) {
  console.error('bench:pki needs root: kubeadm --rootfs chroots into each trial directory');
  process.exit(1);
}
let kubeadmBin: ReturnType<typeof components>['binaries']['kubeadm'];
try {
  kubeadmBin = components().binaries.kubeadm;
} catch (err) {
  console.error(`bench:pki needs the harness's kubeadm: ${(err as Error).message}`);
  process.exit(1);
}
console.log(`building the CLI: ${await buildCli()}`);
console.log(
  `PKI benchmark vs kubeadm ${kubeadmBin.version} (${kubeadmBin.path}); Node ${process.version} (OpenSSL ${process.versions.openssl}); ` +
    `${availableParallelism()} CPUs, load average ${load()}; ${TRIALS} trial(s) per side`,
);
console.log(`each trial: init phase certs all + init phase kubeconfig all, --rootfs <fresh dir>, --config ${CONFIG_NAME}`);
// warm-up, not measured: the page cache for both binaries and node_modules, the in-process JIT
await oursCli('ECDSA-P256');
await kubeadm('ECDSA-P256');
await oursInProcess('ECDSA-P256');

const KEYS = 16;
const ratios = new Map<EncryptionAlgorithm, number>();
const kubeadmMedians = new Map<EncryptionAlgorithm, number>();
const cpuMedians = new Map<EncryptionAlgorithm, { ours: number; kubeadm: number }>();
const floors: number[] = [];
for (const alg of ALGORITHMS) {
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  const inProcess: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const a = await oursCli(alg);
    const b = await kubeadm(alg);
    if (a.files.join('\n') !== b.files.join('\n')) {
      throw new Error(`${alg}: kubestrap and kubeadm wrote different files:\n  ours:    ${a.files.join(' ')}\n  kubeadm: ${b.files.join(' ')}`);
    }
    ours.push(a.ms);
    oursCpu.push(a.cpuMs);
    theirs.push(b.ms);
    theirsCpu.push(b.cpuMs);
    inProcess.push(await oursInProcess(alg));
    if (alg === 'RSA-2048') floors.push(await parallelKeysMs(KEYS));
  }
  const o = line(`kubestrap CLI ${alg}`, ours, oursCpu);
  const k = line(`kubeadm CLI ${alg}`, theirs, theirsCpu);
  line(`kubestrap in-process ${alg} (reference)`, inProcess);
  ratios.set(alg, o / k);
  kubeadmMedians.set(alg, k);
  cpuMedians.set(alg, { ours: median(oursCpu), kubeadm: median(theirsCpu) });
}
const floor = line(`${KEYS} RSA-2048 keys at once, node:crypto (floor)`, floors);
const perKey = nodeKeygenCpuMs(QUICK ? 4 : 2 * KEYS);
const rsaCpu = cpuMedians.get('RSA-2048')!;
console.log(`keygen-cpu-ms-per-key (node:crypto RSA-2048, one at a time, this process): ${fmt(perKey)}`);
// Machine load inflates wall times; CPU times are what the two implementations cost.
console.log(`pki-cpu-ratio (RSA-2048, ours/kubeadm CPU time): ${(rsaCpu.ours / rsaCpu.kubeadm).toFixed(3)}`);
console.log(`keygen-cpu-share (RSA-2048, ${KEYS} × keygen-cpu-ms-per-key ÷ our CPU time): ${((KEYS * perKey) / rsaCpu.ours).toFixed(2)}`);
console.log(`keygen-floor-ratio: ${(floor / kubeadmMedians.get('RSA-2048')!).toFixed(3)}`);
console.log(`load average after: ${load()}`);
console.log(`pki-vs-kubeadm-ratio-ecdsa-p256: ${ratios.get('ECDSA-P256')!.toFixed(3)}`);
console.log(`pki-vs-kubeadm-ratio: ${ratios.get('RSA-2048')!.toFixed(3)}`);
