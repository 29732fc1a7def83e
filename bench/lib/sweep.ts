/**
 * Safety net for benchmarks of the process runtime: every container process carries
 * KUBESTRAP_ROOTFS=<rootfs> in its environment, so whatever a failed run left behind under a
 * benchmark's own temp rootfs is found in /proc and killed (its whole process group), and nothing
 * else is touched.
 */
import { readdir, readFile } from 'node:fs/promises';

export async function pidsWithRootfs(rootfs: string): Promise<number[]> {
  const marker = `KUBESTRAP_ROOTFS=${rootfs}`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const env = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    if (env.split('\0').includes(marker)) pids.push(Number(entry));
  }
  return pids;
}

/** SIGKILLs the process groups of every container process of this rootfs; returns how many were found. */
export async function killPodProcesses(rootfs: string): Promise<number> {
  const pids = await pidsWithRootfs(rootfs);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone already
      }
    }
  }
  return pids.length;
}
