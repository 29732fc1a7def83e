/** Mount points from /proc/self/mountinfo, for the harness' teardowns. */
import { readFileSync } from 'node:fs';

/** Mount points at or below `dir` in a mountinfo text, deepest first (octal escapes decoded). */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** This process' mount points at or below `dir`, deepest first. */
export function mountsUnderSync(dir: string): string[] {
  return mountPointsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), dir);
}
