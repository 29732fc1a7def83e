/** What the benchmarks read of a process in /proc: its memory and its own CPU time. */
import { readdir, readFile, stat } from 'node:fs/promises';

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, ...), in KiB. */
export async function rssKiB(pid: number, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** utime + stime of the process itself (all its threads, not its children), in clock ticks. */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 (utime, stime) are f[11] and f[12] (f[0] is field 3)
  return Number(f[11]) + Number(f[12]);
}

/** Clock ticks per second of /proc's times (USER_HZ; 100 on every Linux the benches run on). */
export const TICKS_PER_S = 100;

/** CPU seconds a command used, and the seconds its threads were runnable but waited for a CPU. */
export interface CommandCpu {
  cpuS: number;
  /** Sum over the live threads of /proc/<pid>/task/<tid>/schedstat's run-queue wait. */
  waitS: number;
}

/** A process' name for the CPU tables: `comm`, but a Node process by its kubestrap subcommand. */
async function commandName(pid: string, comm: string): Promise<string> {
  if (comm !== 'MainThread' && comm !== 'node') return comm;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  const i = argv.findIndex((a) => a.endsWith('kubestrap.js'));
  return i >= 0 ? `kubestrap ${argv[i + 1] ?? ''}`.trim() : comm;
}

async function runQueueWaitS(pid: string): Promise<number> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let ns = 0;
  for (const tid of tasks) {
    const s = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '');
    ns += Number(s.split(' ')[1] ?? 0) || 0;
  }
  return ns / 1e9;
}

/**
 * CPU per command name of every process in the network namespace `netns` (a name under /run/netns):
 * utime + stime (threads included, exited children not) and the run-queue wait of its threads. A
 * process that exited before the call is not counted.
 */
export async function cpuByCommand(netns: string): Promise<Map<string, CommandCpu>> {
  const want = (await stat(`/run/netns/${netns}`)).ino;
  const out = new Map<string, CommandCpu>();
  await Promise.all(
    (await readdir('/proc'))
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        try {
          if ((await stat(`/proc/${pid}/ns/net`)).ino !== want) return;
          const s = await readFile(`/proc/${pid}/stat`, 'utf8');
          const name = await commandName(pid, s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')));
          const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
          const cpuS = (Number(f[11]) + Number(f[12])) / TICKS_PER_S;
          const waitS = await runQueueWaitS(pid);
          const sum = out.get(name) ?? { cpuS: 0, waitS: 0 };
          out.set(name, { cpuS: sum.cpuS + cpuS, waitS: sum.waitS + waitS });
        } catch {
          // gone meanwhile
        }
      }),
  );
  return out;
}

/** `after` minus `before`, per command (a command new since `before` counts whole). */
export function cpuSince(after: Map<string, CommandCpu>, before: Map<string, CommandCpu> | undefined): Map<string, CommandCpu> {
  const out = new Map<string, CommandCpu>();
  for (const [name, a] of after) {
    const b = before?.get(name);
    out.set(name, { cpuS: a.cpuS - (b?.cpuS ?? 0), waitS: a.waitS - (b?.waitS ?? 0) });
  }
  return out;
}
