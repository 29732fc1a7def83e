/**
 * Shared pieces of the `kubestrap init` end-to-end tests and bench: run the built CLI, find what a
 * rootfs' agent runs (processes by their KUBESTRAP_ROOTFS marker), watch /readyz, check what reset
 * must leave behind (nothing), and clean up everything even when a test fails half way.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probeOnce } from '../../src/net/http-probe.js';
import { components } from './components.js';
import { portFree } from './proc.js';

const exec = promisify(execFile);
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every port init's control plane and agent listen on (fixed by the manifests, as kubeadm's). */
export const INIT_PORTS = [2379, 2380, 2381, 6443, 10257, 10259, 10255, 10250] as const;
export const CONTROL_PLANE = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE)[number];
export const APISERVER = 'https://127.0.0.1:6443';

/** What init writes and reset must remove (host paths). */
export const INIT_WRITTEN = [
  '/etc/kubernetes/manifests',
  '/etc/kubernetes/pki',
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/super-admin.conf',
  '/etc/kubernetes/kubelet.conf',
  '/etc/kubernetes/controller-manager.conf',
  '/etc/kubernetes/scheduler.conf',
  '/var/lib/etcd',
  '/var/lib/kubestrap/config.yaml',
  '/var/lib/kubestrap/kubestrap-flags.env',
  '/var/lib/kubestrap/agent',
  '/var/lib/kubestrap/agent.sock',
  '/var/lib/kubestrap/pki',
  '/run/kubestrap-agent.pid',
] as const;

let built: Promise<string> | undefined;
/**
 * `npm run build` once per test process: the agent daemon runs bin/kubestrap.js, which imports the
 * bundle in dist/bundle/. tsc emits even when another file in the tree has a type error; that is
 * reported, not fatal (the bundle is made from what it emitted).
 */
export function buildCli(): Promise<string> {
  built ??= (async () => {
    let note = 'built';
    try {
      await exec(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', path.join(REPO, 'tsconfig.json')], { cwd: REPO });
    } catch (err) {
      const stdout = (err as { stdout?: string }).stdout ?? '';
      if (!existsSync(path.join(REPO, 'dist/cli.js'))) throw new Error(`build failed: ${stdout}`);
      note = `built with type errors elsewhere in the tree:\n${stdout.split('\n').slice(0, 5).join('\n')}`;
    }
    await exec(process.execPath, [path.join(REPO, 'scripts/bundle.mjs')], { cwd: REPO });
    return note;
  })();
  return built;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/kubestrap.js <args>`; never rejects (the exit code is in the result). `launcher`
 * prefixes the command line (a test bed node's `nsenter --net=... --`, so init runs in its network).
 */
export async function kubestrap(args: readonly string[], timeoutMs = 300_000, launcher: readonly string[] = []): Promise<CliResult> {
  const argv = [...launcher, process.execPath, path.join(REPO, 'bin/kubestrap.js'), ...args];
  try {
    const { stdout, stderr } = await exec(argv[0]!, argv.slice(1), {
      cwd: REPO,
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr || e.message };
  }
}

export async function kubectl(kubeconfig: string, args: readonly string[]): Promise<string> {
  const { stdout } = await exec(components().binaries.kubectl.path, ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}

export async function kubectlJson<T>(kubeconfig: string, args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, [...args, '-o', 'json'])) as T;
}

export interface MarkedProcess {
  pid: number;
  /** KUBESTRAP_CONTAINER */
  container: string;
  args: string[];
}

async function environ(pid: number): Promise<Map<string, string> | undefined> {
  const text = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const env = new Map<string, string>();
  for (const kv of text.split('\0')) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return env;
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // a zombie is gone for our purposes (its parent just has not reaped it yet)
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Live processes the process runtime started for this rootfs (environ KUBESTRAP_ROOTFS=<rootfs>). */
export async function markedProcesses(rootfs: string): Promise<MarkedProcess[]> {
  const out: MarkedProcess[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const env = await environ(pid);
    if (env?.get('KUBESTRAP_ROOTFS') !== rootfs || !(await alive(pid))) continue;
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
    out.push({ pid, container: env.get('KUBESTRAP_CONTAINER') ?? '', args });
  }
  return out;
}

/** The running program of one container (process runtime): the marked process whose argv[0] is the binary. */
export async function containerProcess(rootfs: string, container: string): Promise<MarkedProcess | undefined> {
  const procs = (await markedProcesses(rootfs)).filter((p) => p.container === container);
  return procs.find((p) => path.basename(p.args[0] ?? '') === container) ?? procs[0];
}

/** The agent daemon's pid from its pid file, when that process is still alive. */
export async function agentPid(rootfs: string): Promise<number | undefined> {
  const pid = Number((await readFile(path.join(rootfs, 'run/kubestrap-agent.pid'), 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && (await alive(pid)) ? pid : undefined;
}

/** Mount points under the rootfs (ours or a runtime's). */
export async function mountsUnder(rootfs: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === rootfs || m.startsWith(`${rootfs}/`)));
}

/** Everything reset should have removed but did not: processes, agent, mounts, busy ports, files. */
export async function leftovers(rootfs: string): Promise<string[]> {
  const found: string[] = [];
  for (const p of await markedProcesses(rootfs)) found.push(`process ${p.pid} (${p.container}): ${p.args.slice(0, 2).join(' ')}`);
  const agent = await agentPid(rootfs);
  if (agent !== undefined) found.push(`agent pid ${agent}`);
  for (const m of await mountsUnder(rootfs)) found.push(`mount ${m}`);
  for (const port of INIT_PORTS) if (!(await portFree(port))) found.push(`port ${port} in use`);
  for (const f of INIT_WRITTEN) if (existsSync(path.join(rootfs, f))) found.push(`file ${f}`);
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone
  }
}

/**
 * Best-effort teardown for t.after / finally: reset --force, then whatever survived it — the agent
 * (pid file), marked processes, mounts — is killed or unmounted, and the rootfs removed.
 */
export async function forceCleanup(rootfs: string, extraReset: readonly string[] = [], launcher: readonly string[] = []): Promise<string[]> {
  const notes: string[] = [];
  const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs, ...extraReset], 120_000, launcher);
  if (reset.code !== 0) notes.push(`reset exited ${reset.code}: ${reset.stderr.trim().split('\n')[0]}`);
  const agent = await agentPid(rootfs);
  if (agent !== undefined) {
    notes.push(`killed agent ${agent}`);
    signal(agent, 'SIGKILL');
  }
  for (const p of await markedProcesses(rootfs)) {
    notes.push(`killed ${p.container} ${p.pid}`);
    signal(p.pid, 'SIGKILL');
  }
  for (const m of (await mountsUnder(rootfs)).sort((a, b) => b.length - a.length)) {
    notes.push(`unmounted ${m}`);
    await exec('umount', ['-l', m]).catch(() => undefined);
  }
  await rm(rootfs, { recursive: true, force: true });
  return notes;
}

/** Polls the API server's /readyz in the background, recording every failed answer. */
export class ReadyzWatch {
  private running = true;
  private readonly loop: Promise<void>;
  readonly failures: string[] = [];
  polls = 0;
  /** First time /readyz answered ok (performance.now()), if it did. */
  firstOk: number | undefined;

  constructor(
    private readonly url = `${APISERVER}/readyz`,
    private readonly intervalMs = 200,
    /** Record failures only after the first ok (while waiting for start-up they are expected). */
    private readonly failuresAfterOk = true,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const ok = await probeOnce(this.url, 2000);
      this.polls++;
      if (ok) this.firstOk ??= performance.now();
      else if (!this.failuresAfterOk || this.firstOk !== undefined) this.failures.push(new Date().toISOString());
      if (this.running) await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** GET with an optional bearer token; the serving cert is not verified (tests check the CA pin separately). */
export function httpsGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, timeout: 10_000, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

/** The bootstrap token from init's join command. */
export function tokenFromInitOutput(stdout: string): string | undefined {
  return /--token ([a-z0-9]{6}\.[a-z0-9]{16})/.exec(stdout)?.[1];
}
