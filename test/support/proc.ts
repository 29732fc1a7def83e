/**
 * Long-running test processes (containerd, etcd, kube-apiserver, ...): each in its own process
 * group with output appended to a log file, stopped with SIGTERM then SIGKILL to the whole group,
 * and killed on the test process' exit too, so nothing outlives the test runner.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process exits. */
  readonly exited: Promise<ExitStatus>;
  running(): boolean;
  /** SIGTERM to the process group, SIGKILL after graceMs; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

/** Live process groups, killed synchronously if the test process exits first. */
const live = new Set<number>();
let hooked = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pgid of live) killGroup(pgid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const pgid of live) killGroup(pgid, 'SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

export interface StartOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export async function startProcess(name: string, command: string, args: readonly string[], options: StartOptions): Promise<Proc> {
  hookExit();
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  let child;
  try {
    child = spawn(command, args, {
      detached: true, // own process group: stop() reaches its children too
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new Error(`cannot start ${name} (${command}): ${err.message}`);
  }
  live.add(pid);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  // The leader's exit does not end its group: keep the pgid registered until stop() clears it.
  return {
    name,
    pid,
    logFile: options.logFile,
    exited,
    running: () => !done,
    async stop(graceMs = 10_000) {
      killGroup(pid, 'SIGTERM');
      const timer = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') killGroup(pid, 'SIGKILL');
      const status = await exited;
      killGroup(pid, 'SIGKILL'); // stragglers in the group
      live.delete(pid);
      return status;
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the timeout passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** True when nothing listens on the TCP port (tried on all addresses, as the API server binds). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Waits until all ports are free (a previous run's sockets may linger briefly). */
export async function waitPortsFree(ports: readonly number[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `ports ${ports.join(', ')} to be free`,
    async () => {
      for (const port of ports) if (!(await portFree(port))) throw new Error(`port ${port} in use`);
      return true;
    },
    timeoutMs,
    500,
  );
}

export interface LinesResult {
  /** Exit code (-1 when killed by a signal, e.g. the timeout). */
  code: number;
  /** stdout and stderr, interleaved as written. */
  output: string;
}

/** Runs a command to completion, passing each output line (stdout or stderr) to `onLine` as it comes; SIGKILL after timeoutMs. */
export function runWithLines(
  argv: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; onLine?: (line: string) => void },
): Promise<LinesResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}
