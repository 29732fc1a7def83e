/**
 * The node's long-running service (the kubelet, or the kubestrap agent of `join --agent`) as a host
 * service: a systemd unit where systemd runs the real host (kubeadm's packaging: kubelet.service +
 * the 10-kubeadm.conf drop-in), else a detached `kubestrap supervise` that restarts it on crash,
 * with pid and log files under the rootfs. Shared by join (start) and reset (stop); systemctl goes
 * through a seam so the calls are tested where systemd is not PID 1.
 */
import { access } from 'node:fs/promises';
import { startDetachedKubestrap, stopProcess, tailFile } from '../agent/index.js';
import type { Host } from '../host/host.js';

/** The kubelet's unit files (kubeadm's packaging), and the supervised daemon's files where systemd does not run. */
export const KUBELET_SERVICE = {
  unitName: 'kubelet.service',
  unit: '/etc/systemd/system/kubelet.service',
  dropIn: '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
  pid: '/run/kubestrap-kubelet.pid',
  childPid: '/run/kubelet.pid',
  log: '/var/log/kubestrap-kubelet.log',
} as const;

/** The supervised agent's child pid (its supervisor's pid is the agent's usual pid file). */
export const AGENT_CHILD_PID = '/run/kubestrap-agent-child.pid';

/** How a service runs on this host, and the files that record it. */
export interface NodeService {
  /** For messages: `kubelet`, `kubestrap agent`. */
  label: string;
  unitName: string;
  /** The unit and its drop-ins (host path → text), written only for systemd. */
  unitFiles: Readonly<Record<string, string>>;
  /** Files written for either way (flags env files), host path → text. */
  files?: Readonly<Record<string, string>>;
  /** The supervised command (no systemd). */
  command: string;
  args: readonly string[];
  /** Host paths: the supervisor's pid, the child's pid, the log of both. */
  pidFile: string;
  childPidFile: string;
  logFile: string;
}

/** Runs `systemctl <args>`; tests pass a recorder. */
export type Systemctl = (args: readonly string[]) => Promise<void>;

export const realSystemctl: Systemctl = async (args) => {
  const { execa } = await import('execa'); // ≈ 0.1 s to load: only hosts with systemd pay it
  await execa('systemctl', [...args]);
};

/** systemd manages this host (and it is the real one: a --rootfs node's service is never a host unit). */
export async function systemdRuns(host: Host): Promise<boolean> {
  if (host.rootfs !== '/') return false;
  return access('/run/systemd/system').then(
    () => true,
    () => false,
  );
}

/** The pid in a pid file if that process is alive (a recycled pid may be anything: callers check what it is). */
export async function livePid(host: Host, hostPath: string): Promise<number | undefined> {
  const pid = Number((await host.readOptional(hostPath))?.toString('utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export interface StartOptions {
  systemd: boolean;
  systemctl?: Systemctl;
  dryRun?: boolean;
  say(message: string): void;
}

/** Writes the service's files and (re)starts it. */
export async function startNodeService(host: Host, svc: NodeService, options: StartOptions): Promise<void> {
  for (const [file, text] of Object.entries(svc.files ?? {})) await host.writeFile(file, text, 0o644);
  if (options.systemd) {
    for (const [file, text] of Object.entries(svc.unitFiles)) await host.writeFile(file, text, 0o644);
    if (options.dryRun) return options.say(`Would start the ${svc.label} through systemd (${svc.unitName})`);
    const systemctl = options.systemctl ?? realSystemctl;
    options.say(`Starting the ${svc.label} through systemd (${svc.unitName})`);
    await systemctl(['daemon-reload']);
    await systemctl(['enable', svc.unitName]);
    await systemctl(['restart', svc.unitName]);
    return;
  }
  if (options.dryRun) return options.say(`Would start the ${svc.label} as a supervised daemon (log ${host.path(svc.logFile)})`);
  await stopSupervised(host, svc);
  const pid = await spawnSupervisor(host, svc);
  options.say(`Started the ${svc.label} as a supervised daemon (supervisor pid ${pid}, log ${host.path(svc.logFile)})`);
}

function spawnSupervisor(host: Host, svc: NodeService): Promise<number> {
  const args = ['supervise', `--child-pid-file=${host.path(svc.childPidFile)}`, '--', svc.command, ...svc.args];
  return startDetachedKubestrap(host, args, { log: svc.logFile, pid: svc.pidFile, label: `${svc.label} supervisor` });
}

/** Stops a supervised daemon of this rootfs (the supervisor stops its child); false when none ran. */
export async function stopSupervised(host: Host, svc: Pick<NodeService, 'pidFile' | 'childPidFile'>): Promise<boolean> {
  const pid = await livePid(host, svc.pidFile);
  if (pid !== undefined) await stopProcess(pid, 15_000);
  // a supervisor killed hard leaves its child: stop that too
  const child = await livePid(host, svc.childPidFile);
  if (child !== undefined) await stopProcess(child);
  return pid !== undefined || child !== undefined;
}

/** The service's last log lines, for an error message (journalctl under systemd). */
export async function serviceLogTail(host: Host, svc: NodeService, systemd: boolean, lines = 20): Promise<string> {
  if (!systemd) return tailFile(host, svc.logFile, lines);
  try {
    const { execa } = await import('execa');
    return (await execa('journalctl', ['-u', svc.unitName, '-n', String(lines), '--no-pager'])).stdout;
  } catch {
    return '';
  }
}
