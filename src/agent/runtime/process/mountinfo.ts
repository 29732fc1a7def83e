/**
 * The mount points the agent's mount namespace has (a container's private namespace starts as a copy
 * of it): shadowing a directory must put back the mounts below it, and a mount boundary decides
 * whether a deeper directory is covered by a shadow already.
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
