/** What the benchmarks read of a process in /proc: its memory and its own CPU time. */
import { readFile } from 'node:fs/promises';

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
