/**
 * The mount points of a mount namespace, from /proc/<pid>/mountinfo. The process runtime needs them
 * (shadowing a directory must put back the mounts below it), and so do reset and Host.remove (a
 * mount point is emptied and left in place, never removed: rmdir on it is EBUSY).
 */
import { readFile } from 'node:fs/promises';

/** mountinfo escapes space, tab, newline and backslash as 3-digit octal (\040). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mount point paths (field 5) of a /proc/<pid>/mountinfo text, in file order, duplicates kept. */
export function parseMountPoints(text: string): string[] {
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.push(unescape(field));
  }
  return points;
}

export async function readMountPoints(pid: number | 'self' = 'self'): Promise<string[]> {
  return parseMountPoints(await readFile(`/proc/${pid}/mountinfo`, 'utf8'));
}
