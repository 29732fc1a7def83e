/**
 * The agent as a host service: where its files live, how `init` starts it (systemd when systemd
 * runs the real host, otherwise a detached daemon with a pid file and a log file), how it is found
 * again (idempotent init) and how `reset` stops it. The flags file plays the part of kubeadm's
 * /var/lib/kubelet/kubeadm-flags.env: the one record of how the agent was started.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HostError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';
import { isSelfCommandLine, selfCommand } from '../util/package-files.js';
import { readStat } from './runtime/process/proc.js';

export const AGENT_PATHS = {
  /** KubeletConfiguration-style config the agent reads (`--config`). */
  config: '/var/lib/kubestrap/config.yaml',
  /** `KUBESTRAP_AGENT_ARGS="..."`: node name, runtime, kubeconfig. */
  flags: '/var/lib/kubestrap/kubestrap-flags.env',
  pid: '/run/kubestrap-agent.pid',
  log: '/var/log/kubestrap-agent.log',
  unit: '/etc/systemd/system/kubestrap-agent.service',
} as const;

export const AGENT_UNIT_NAME = 'kubestrap-agent.service';

/**
 * The command line that runs `kubestrap <args>`: `node [nodeFlags] bin/kubestrap.js`, or the single
 * executable, whose command line is all the application's: Node flags cannot go there (the SEA
 * runs without them, so its agent has no --lite-mode).
 */
export function kubestrapCommand(args: readonly string[], nodeFlags: readonly string[] = []): { command: string; args: string[] } {
  const self = selfCommand(nodeFlags);
  return { command: self.command, args: [...self.args, ...args] };
}

/**
 * Node flags of every agent process (daemon, systemd unit, join's service). `--lite-mode` turns
 * off V8's optimizing compilers: the agent is idle nearly always and its hot paths are CRI/HTTP
 * calls, while the compilers' code and data were a quarter of its memory — measured with 20 pods,
 * process runtime, /proc/<pid>/smaps_rollup: 87 → 66 MiB RSS (the node binary's touched pages
 * 53 → 40 MiB, anonymous 34 → 20 MiB). It works only on the command line: V8 reads it when the
 * isolate is made (v8.setFlagsFromString later changes nothing; NODE_OPTIONS refuses it).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--lite-mode'];

/** Renders the flags file from the agent's arguments. */
export function renderFlagsEnv(args: readonly string[]): string {
  return `KUBESTRAP_AGENT_ARGS="${args.join(' ')}"\n`;
}

/** Reads the agent's arguments back from the flags file (undefined when init never wrote one). */
export async function readAgentArgs(host: Host): Promise<string[] | undefined> {
  const text = (await host.readOptional(AGENT_PATHS.flags))?.toString('utf8');
  const m = text?.match(/^KUBESTRAP_AGENT_ARGS="([^"]*)"/m);
  return m ? m[1]!.split(' ').filter(Boolean) : undefined;
}

/** Value of `--name=value` in an argument list. */
export function argValue(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** The unit reads the arguments from the flags file (EnvironmentFile), so a re-run of init only rewrites that. */
export function renderSystemdUnit(_args: readonly string[]): string {
  const agent = kubestrapCommand(['agent'], AGENT_NODE_FLAGS);
  return [
    '[Unit]',
    'Description=kubestrap static-pod agent: runs the control-plane static pods',
    'Documentation=https://kubernetes.io/docs/reference/setup-tools/kubeadm/',
    'Wants=network-online.target containerd.service',
    'After=network-online.target containerd.service',
    '',
    '[Service]',
    `EnvironmentFile=-${AGENT_PATHS.flags}`,
    `ExecStart=${[agent.command, ...agent.args].join(' ')} $KUBESTRAP_AGENT_ARGS`,
    'Restart=always',
    'RestartSec=2',
    // the agent leaves pods running when it stops; systemd must not kill them with it
    'KillMode=process',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The pid of the agent daemon for this rootfs, if one is alive. */
export async function runningAgentPid(host: Host): Promise<number | undefined> {
  const text = (await host.readOptional(AGENT_PATHS.pid))?.toString('utf8').trim();
  const pid = Number(text);
  if (!text || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    // a recycled pid belongs to something else: only our `kubestrap agent` counts
    return cmdline.includes('agent') && isSelfCommandLine(cmdline) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `kubestrap <args>` detached from this process, stdout and stderr to `logFile`; records its
 * pid in `pidFile` (host paths). The agent daemon, and join's supervised kubelet.
 */
export async function startDetachedKubestrap(
  host: Host,
  args: readonly string[],
  files: { log: string; pid: string; label: string },
  nodeFlags: readonly string[] = [],
): Promise<number> {
  for (const f of [files.log, files.pid]) await host.mkdir(path.posix.dirname(f), 0o755);
  const logFd = openSync(host.path(files.log), 'a', 0o640);
  try {
    const self = kubestrapCommand(args, nodeFlags);
    const child = spawn(self.command, self.args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new HostError(`cannot start the ${files.label}: ${messageOf(err)}`, { cause: err })));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    await host.writeFile(files.pid, `${pid}\n`, 0o644);
    return pid;
  } finally {
    closeSync(logFd);
  }
}

/** Starts `kubestrap agent <args>` detached, output to the log file; records the pid. */
export function startAgentDaemon(host: Host, args: readonly string[]): Promise<number> {
  return startDetachedKubestrap(host, ['agent', ...args], { log: AGENT_PATHS.log, pid: AGENT_PATHS.pid, label: 'agent' }, AGENT_NODE_FLAGS);
}

/**
 * SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. A zombie counts as
 * exited: the detached agent's parent is init, which may reap it only a second or more later.
 */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  const alive = async (): Promise<boolean> => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    const st = await readStat(pid);
    return st !== undefined && st.state !== 'Z' && st.state !== 'X';
  };
  if (!(await alive())) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((await alive()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (await alive()) process.kill(pid, 'SIGKILL');
  while (await alive()) await new Promise((r) => setTimeout(r, 20));
}

/** The last `lines` lines of a text file on the host ('' when missing). */
export async function tailFile(host: Host, hostPath: string, lines = 20): Promise<string> {
  const text = (await host.readOptional(hostPath))?.toString('utf8') ?? '';
  return text.split('\n').filter(Boolean).slice(-lines).join('\n');
}
