/**
 * A tiny process supervisor for hosts without systemd (`kubestrap supervise`): runs one command,
 * restarts it when it exits (systemd's Restart=always, with a back-off from 1 s to 10 s, reset
 * after a minute of running), and on SIGTERM/SIGINT stops it (SIGTERM, SIGKILL after a grace
 * period) and exits. Its output and the child's go to the log file its starter opened as stdout.
 * The child's pid is written to `childPidFile` so reset and tests can find the real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

export interface SuperviseOptions {
  command: string;
  args: readonly string[];
  /** Real path of the child's pid file (rewritten on every restart). */
  childPidFile?: string;
  /** First restart delay; doubled per quick exit up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A child that ran this long resets the back-off. */
  stableMs?: number;
  /** SIGTERM → SIGKILL grace when stopping. */
  graceMs?: number;
  log?: (line: string) => void;
}

const stamp = (): string => new Date().toISOString();

/** Runs until a stop signal; resolves after the child is gone. */
export function supervise(options: SuperviseOptions): Promise<void> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${stamp()} [supervise] ${l}\n`));
  const first = options.backoffMs ?? 1000;
  const max = options.maxBackoffMs ?? 10_000;
  const stable = options.stableMs ?? 60_000;
  let backoff = first;
  let child: ChildProcess | undefined;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    const start = (): void => {
      timer = undefined;
      const began = Date.now();
      child = spawn(options.command, [...options.args], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('spawn', () => {
        if (options.childPidFile && child?.pid) writeFileSync(options.childPidFile, `${child.pid}\n`);
        log(`started ${options.command} (pid ${child?.pid})`);
      });
      child.once('error', (err) => log(`cannot start ${options.command}: ${err.message}`));
      child.once('close', (code, signal) => {
        child = undefined;
        if (stopping) return finish();
        backoff = Date.now() - began >= stable ? first : backoff;
        log(`${options.command} exited (${signal ?? `code ${code}`}); restarting in ${backoff / 1000} s`);
        timer = setTimeout(start, backoff);
        backoff = Math.min(backoff * 2, max);
      });
    };
    const finish = (): void => {
      if (options.childPidFile) rmSync(options.childPidFile, { force: true });
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.off(sig, stop);
      resolve();
    };
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      if (timer) clearTimeout(timer);
      if (!child) return finish();
      log(`stopping ${options.command} (pid ${child.pid})`);
      const c = child;
      c.kill('SIGTERM');
      setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), options.graceMs ?? 10_000).unref();
    };
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, stop);
    start();
  });
}
