/**
 * The process runtime: each container is a supervised host process in its own process group and a
 * private mount namespace (hostPath volumes bind-mounted from the rootfs at their mountPath; mount
 * points missing on the host are made in a namespace-private shadow, never on the real host). Its
 * stdout/stderr go through FIFOs the process itself holds open for reading too, so it never gets
 * SIGPIPE while the agent restarts; the agent turns the FIFO contents into CRI log files. Processes
 * carry marker env vars, so an agent that crashed finds them again in /proc.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import { ContainerStartError, HostError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { CriLogWriter } from '../logs/cri-log.js';
import { missingBinary, programName, resolveBinary } from '../../images/binary.js';
import { containerArgs, containerEnv } from './process/env.js';
import { mountScript, prepareMounts } from './process/mounts.js';
import { isAlive, listPids, readEnviron, readStat, startedAt } from './process/proc.js';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ContainerRef, ContainerRunState, ContainerStart, ExecResult, ManagedContainer, PodRefusal, Runtime, RuntimePod, SandboxRef } from './types.js';

/** Env markers on every container process (read back from /proc/<pid>/environ). */
const MARK = {
  rootfs: 'KUBESTRAP_ROOTFS',
  uid: 'KUBESTRAP_POD_UID',
  pod: 'KUBESTRAP_POD_NAME',
  namespace: 'KUBESTRAP_POD_NAMESPACE',
  container: 'KUBESTRAP_CONTAINER',
  attempt: 'KUBESTRAP_ATTEMPT',
  log: 'KUBESTRAP_LOG_PATH',
  io: 'KUBESTRAP_IO',
  scratch: 'KUBESTRAP_SCRATCH',
} as const;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Exit polling for adopted processes (not our children, so no 'exit' event). */
const ADOPTED_POLL_MS = 250;
const TOOLS = ['unshare', 'mount', 'nsenter', 'mkfifo'];

interface Tracked {
  pid: number;
  startTime: string;
  startedAt: Date;
  child?: ChildProcess;
  /** FIFO path prefix (`.out`, `.err`). */
  io?: string;
  /** Scratch directory of the container's mount shadows (real path). */
  scratch?: string;
  /** Exit poll of an adopted process. */
  poll?: NodeJS.Timeout;
  /** Set when `exited` has settled. */
  done?: ContainerRunState;
  /** Settles once, when the process has exited. */
  exited: Promise<ContainerRunState>;
  logs?: { writer: CriLogWriter; sockets: Socket[] };
}

export interface ProcessRuntimeOptions {
  /** Node IP for status.hostIP/podIP fieldRefs. */
  nodeIP?: string;
  /** Host path for FIFOs (default /var/lib/kubestrap/agent/io). */
  ioDir?: string;
  /** Host path for the per-container mount scratch dirs (default /var/lib/kubestrap/agent/scratch). */
  scratchDir?: string;
}

function refId(pid: number, startTime: string): string {
  return `${pid}:${startTime}`;
}

function parseRef(ref: ContainerRef): { pid: number; startTime: string } {
  const [pid, startTime] = ref.id.split(':');
  return { pid: Number(pid), startTime: startTime ?? '' };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

const execFileAsync = promisify(execFile);

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  private readonly tracked = new Map<string, Tracked>();
  private readonly ioDir: string;
  private readonly scratchDir: string;

  constructor(
    private readonly host: Host,
    private readonly options: ProcessRuntimeOptions = {},
  ) {
    this.ioDir = options.ioDir ?? '/var/lib/kubestrap/agent/io';
    this.scratchDir = options.scratchDir ?? '/var/lib/kubestrap/agent/scratch';
  }

  async init(): Promise<void> {
    const missing: string[] = [];
    for (const tool of TOOLS) {
      if (!(await resolveBinary(this.host, '', tool))) missing.push(tool);
    }
    if (missing.length) {
      throw new HostError(`the process runtime needs ${missing.join(', ')} in PATH`, { hint: 'install util-linux and coreutils, or use --runtime cri' });
    }
    if (process.getuid?.() !== 0) {
      throw new HostError('the process runtime needs root (it creates mount namespaces)', { hint: 'run as root, or use --runtime cri' });
    }
  }

  /** The image is present when the binary it and command[0] name resolves (also checked again at start). */
  async ensureImage(c: V1Container, field: string): Promise<void> {
    const image = c.image ?? '';
    const program = programName(image, c.command);
    if (!(await resolveBinary(this.host, image, program))) throw await missingBinary(this.host, image, program, field);
  }

  refuses(pod: V1Pod): PodRefusal | undefined {
    if (pod.spec?.hostNetwork === true) return undefined;
    return {
      field: 'spec.hostNetwork',
      message: 'Forbidden: the process runtime runs host processes only, so a pod needs hostNetwork: true',
      hint: 'set hostNetwork: true or use --runtime cri',
    };
  }

  async runPodSandbox(pod: RuntimePod): Promise<SandboxRef> {
    // refused when read (refuses()); kept for pods handed over by other means
    const refusal = this.refuses(pod.pod);
    if (refusal) throw new HostError(`pod ${pod.namespace}/${pod.name}: ${refusal.message}`, refusal);
    await mkdir(this.host.path(`${this.ioDir}/${pod.uid}`), { recursive: true, mode: 0o700 });
    return { id: pod.uid };
  }

  async stopPodSandbox(): Promise<void> {}

  async removePodSandbox(pod: RuntimePod): Promise<void> {
    await rm(this.host.path(`${this.ioDir}/${pod.uid}`), { recursive: true, force: true });
    // on the host these are empty mount points (the tmpfs lives only in the containers' namespaces)
    await rm(this.host.path(`${this.scratchDir}/${pod.uid}`), { recursive: true, force: true });
  }

  async startContainer(pod: RuntimePod, _sandbox: SandboxRef, start: ContainerStart): Promise<ContainerRef> {
    const c = start.container;
    const field = `spec.${start.init ? 'initContainers' : 'containers'}[${c.name}]`;
    const image = c.image ?? '';
    const program = programName(image, c.command);
    const binary = await resolveBinary(this.host, image, program);
    if (!binary) throw await missingBinary(this.host, image, program, field);
    const mounts = await prepareMounts(this.host, pod.pod, c);
    const binds = mounts.binds;
    const env = containerEnv(pod.pod, c, { nodeIP: this.options.nodeIP });
    const argv = containerArgs(c, env);
    const io = this.host.path(`${this.ioDir}/${pod.uid}/${c.name}-${start.attempt}`);
    const scratch = mounts.shadows.length ? this.host.path(`${this.scratchDir}/${pod.uid}/${c.name}-${start.attempt}`) : undefined;
    const childEnv: Record<string, string> = {
      PATH: DEFAULT_PATH,
      ...Object.fromEntries(env),
      [MARK.rootfs]: this.host.rootfs,
      [MARK.uid]: pod.uid,
      [MARK.pod]: pod.name,
      [MARK.namespace]: pod.namespace,
      [MARK.container]: c.name,
      [MARK.attempt]: String(start.attempt),
      [MARK.log]: start.logPath,
      [MARK.io]: io,
      ...(scratch ? { [MARK.scratch]: scratch } : {}),
    };
    if (
      c.workingDir &&
      binds.length === 0 &&
      !(await stat(c.workingDir).then(
        (st) => st.isDirectory(),
        () => false,
      ))
    ) {
      throw new ContainerStartError('CreateContainerError', `workingDir ${c.workingDir} is not a directory`, { field: `${field}.workingDir` });
    }
    await mkdir(this.host.path(`${this.ioDir}/${pod.uid}`), { recursive: true, mode: 0o700 });
    if (scratch) {
      await rm(scratch, { recursive: true, force: true });
      await mkdir(scratch, { recursive: true, mode: 0o700 });
    }
    const fifos = [`${io}.out`, `${io}.err`];
    await rm(fifos[0]!, { force: true });
    await rm(fifos[1]!, { force: true });
    // plain execFile: execa allocates ~4x more per call, garbage that a burst of pod starts leaves in the heap
    await execFileAsync('mkfifo', ['-m', '0600', ...fifos]);
    // O_RDWR: the container holds a reader too, so its writes never SIGPIPE while the agent is away
    const keep = fifos.map((f) => openSync(f, fsConstants.O_RDWR | fsConstants.O_NONBLOCK));
    const [cmd, args] =
      binds.length > 0
        ? [
            'unshare',
            ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', mountScript(mounts, { scratch, workingDir: c.workingDir }), 'sh', binary, ...argv],
          ]
        : [binary, argv];
    let child: ChildProcess;
    try {
      child = spawn(cmd as string, args as string[], {
        detached: true,
        env: childEnv,
        cwd: binds.length === 0 ? c.workingDir || undefined : undefined,
        stdio: ['ignore', keep[0]!, keep[1]!],
      });
    } catch (err) {
      for (const fd of keep) closeSync(fd);
      throw new ContainerStartError('CreateContainerError', `cannot start ${binary}: ${messageOf(err)}`, { field });
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const pid = child.pid;
    if (pid === undefined) {
      for (const fd of keep) closeSync(fd);
      throw new ContainerStartError('CreateContainerError', `cannot start ${binary}: ${messageOf(await spawnError)}`, {
        field: c.workingDir ? `${field}.workingDir` : field,
      });
    }
    const startTime = (await readStat(pid))?.startTime ?? '0';
    const tracked: Tracked = {
      pid,
      startTime,
      startedAt: new Date(),
      child,
      io,
      scratch,
      exited: new Promise<ContainerRunState>((resolve) => {
        child.once('exit', (code, signal) => {
          killGroup(pid, 'SIGKILL'); // leftovers of the container die with it, like a cgroup kill
          const exitCode = code ?? 128 + (SIGNALS[signal ?? ''] ?? 0);
          resolve({ state: 'exited', startedAt: tracked.startedAt, finishedAt: new Date(), exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' });
        });
      }),
    };
    // the child handle stays referenced: a stop waiting for its exit keeps the loop alive (close() unrefs)
    const id = refId(pid, startTime);
    this.tracked.set(id, tracked);
    void tracked.exited.then((st) => (tracked.done = st));
    tracked.logs = this.pumpLogs(fifos, start.logPath);
    for (const fd of keep) closeSync(fd);
    void tracked.exited.then(() => this.forget(id));
    return { id, name: c.name, attempt: start.attempt, imageRef: binary };
  }

  /** Copies FIFO output into the CRI log file until every writer (the container's processes) is gone. */
  private pumpLogs(fifos: string[], logPath: string): Tracked['logs'] {
    const writer = new CriLogWriter(logPath);
    const splitters = [writer.stdout, writer.stderr];
    let open = fifos.length;
    const sockets = fifos.map((f, i) => {
      const fd = openSync(f, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      const s = new Socket({ fd, readable: true, writable: false });
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => splitters[i]!.push(chunk));
      s.on('error', () => undefined);
      s.on('close', () => {
        if (--open === 0) void writer.close();
      });
      s.unref();
      return s;
    });
    return { writer, sockets };
  }

  private forget(id: string): void {
    // keep the entry briefly: status() right after exit still answers from it
    setTimeout(() => this.tracked.delete(id), 60_000).unref();
  }

  /** The tracked entry for a ref, re-attaching (exit watch + logs) to a process this agent did not start. */
  private async track(ref: ContainerRef): Promise<Tracked | undefined> {
    const known = this.tracked.get(ref.id);
    if (known) return known;
    const { pid, startTime } = parseRef(ref);
    if (!(await isAlive(pid, startTime))) return undefined;
    const env = await readEnviron(pid);
    if (env?.get(MARK.rootfs) !== this.host.rootfs) return undefined;
    const began = await startedAt(startTime);
    let poll: NodeJS.Timeout | undefined;
    const exited = new Promise<ContainerRunState>((resolve) => {
      poll = setInterval(() => {
        void isAlive(pid, startTime).then((alive) => {
          if (alive) return;
          clearInterval(poll);
          killGroup(pid, 'SIGKILL');
          // not our child: the exit status went to whoever reaped it
          resolve({
            state: 'exited',
            startedAt: began,
            finishedAt: new Date(),
            exitCode: 255,
            reason: 'Error',
            message: 'exit code unknown (process adopted after an agent restart)',
          });
        });
      }, ADOPTED_POLL_MS);
    });
    const tracked: Tracked = { pid, startTime, startedAt: began, exited, poll };
    this.tracked.set(ref.id, tracked);
    void tracked.exited.then((st) => (tracked.done = st));
    const io = env.get(MARK.io);
    tracked.io = io;
    tracked.scratch = env.get(MARK.scratch);
    const logPath = env.get(MARK.log);
    if (io && logPath) {
      try {
        tracked.logs = this.pumpLogs([`${io}.out`, `${io}.err`], logPath);
      } catch {
        // FIFOs gone (state dir wiped): the process keeps running, its output is lost
      }
    }
    void tracked.exited.then(() => this.forget(ref.id));
    return tracked;
  }

  async stopContainer(ref: ContainerRef, graceSeconds: number): Promise<void> {
    const t = await this.track(ref);
    if (!t || t.done) return;
    killGroup(t.pid, 'SIGTERM');
    const graceMs = Math.max(0, graceSeconds) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([t.exited.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
    clearTimeout(timer);
    if (!inTime && !t.done) {
      killGroup(t.pid, 'SIGKILL');
      await t.exited;
    }
  }

  async removeContainer(ref: ContainerRef): Promise<void> {
    const t = this.tracked.get(ref.id);
    if (t?.io) await Promise.all([rm(`${t.io}.out`, { force: true }), rm(`${t.io}.err`, { force: true })]);
    if (t?.scratch) await rm(t.scratch, { recursive: true, force: true });
  }

  async status(ref: ContainerRef): Promise<ContainerRunState> {
    const t = await this.track(ref);
    if (!t) return { state: 'unknown', reason: 'process not found' };
    return t.done ?? { state: 'running', startedAt: t.startedAt };
  }

  async waitExit(ref: ContainerRef, signal?: AbortSignal): Promise<ContainerRunState> {
    const t = await this.track(ref);
    if (!t) return { state: 'exited', finishedAt: new Date(), exitCode: 255, reason: 'Error', message: 'process not found' };
    if (!signal) return t.exited;
    return new Promise<ContainerRunState>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void t.exited.then((s) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      });
    });
  }

  async exec(ref: ContainerRef, command: string[], timeoutMs: number): Promise<ExecResult> {
    const { pid } = parseRef(ref);
    const { execa } = await import('execa'); // only agents with exec probes load it
    const r = await execa('nsenter', ['-t', String(pid), '-m', '--', ...command], { timeout: timeoutMs, all: true, reject: false, stdin: 'ignore' });
    if (r.timedOut) return { exitCode: -1, output: `command timed out after ${timeoutMs}ms` };
    return { exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
  }

  async listManaged(): Promise<ManagedContainer[]> {
    const found: ManagedContainer[] = [];
    for (const pid of await listPids()) {
      const env = await readEnviron(pid);
      if (!env || env.get(MARK.rootfs) !== this.host.rootfs) continue;
      const st = await readStat(pid);
      // children of a container inherit the markers; only the group leader is the container
      if (!st || st.pgid !== pid || st.state === 'Z') continue;
      found.push({
        ref: { id: refId(pid, st.startTime), name: env.get(MARK.container) ?? '', attempt: Number(env.get(MARK.attempt) ?? 0) },
        podUid: env.get(MARK.uid) ?? '',
        podName: env.get(MARK.pod) ?? '',
        namespace: env.get(MARK.namespace) ?? '',
        sandboxId: env.get(MARK.uid) ?? '',
        running: true,
      });
    }
    return found;
  }

  /** Lets the agent exit: log pumps, exit watches and child handles are released; processes keep running. */
  async close(): Promise<void> {
    for (const t of this.tracked.values()) {
      for (const s of t.logs?.sockets ?? []) s.destroy();
      if (t.poll) clearInterval(t.poll);
      t.child?.unref();
    }
  }
}
