/**
 * What /proc says about a process: its start time (so a reused pid is never mistaken for ours), its
 * process group, and its environment (the markers that let an agent find its containers again).
 */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  pid: number;
  state: string;
  pgid: number;
  /** Field 22: start time in clock ticks since boot. */
  startTime: string;
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: fields after it start past the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3]
  const state = rest[0] ?? '?';
  const pgid = Number(rest[2]);
  const startTime = rest[19] ?? '';
  return { pid, state, pgid, startTime };
}

/** True while the process with this pid and start time exists and is not a zombie. */
export async function isAlive(pid: number, startTime: string): Promise<boolean> {
  const st = await readStat(pid);
  return st !== undefined && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

export async function readEnviron(pid: number): Promise<Map<string, string> | undefined> {
  let raw: Buffer;
  try {
    raw = await readFile(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const entry of raw.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

export async function listPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Kernel boot time in ms since the epoch, to turn a start time in ticks into a Date. */
export async function startedAt(startTime: string): Promise<Date> {
  const stat = await readFile('/proc/stat', 'utf8');
  const btime = Number(/^btime (\d+)$/m.exec(stat)?.[1] ?? 0);
  // USER_HZ is 100 on every Linux ABI Node runs on
  return new Date(btime * 1000 + (Number(startTime) * 1000) / 100);
}
