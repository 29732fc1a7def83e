/**
 * Finds a static pod's container log under /var/log/pods for `kubestrap logs`: by full pod name
 * (`kube-apiserver-<node>`) or manifest name (`kube-apiserver`), newest pod UID first, and the
 * current or previous attempt (`<restart>.log`).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { POD_LOGS_DIR } from '../../constants.js';
import { HostError } from '../../errors.js';
import type { Host } from '../../host/host.js';

export interface LogQuery {
  pod: string;
  namespace?: string;
  container?: string;
  previous?: boolean;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Real path of the log file the query names; throws HostError saying what exists instead. */
export async function findContainerLog(host: Host, q: LogQuery): Promise<string> {
  const root = host.path(POD_LOGS_DIR);
  const pods: { dir: string; ns: string; name: string; mtime: number }[] = [];
  for (const d of await entries(root)) {
    const [ns, name, uid] = d.split('_');
    if (!ns || !name || !uid) continue;
    if (q.namespace && ns !== q.namespace) continue;
    if (name !== q.pod && !name.startsWith(`${q.pod}-`)) continue;
    pods.push({ dir: path.join(root, d), ns, name, mtime: (await stat(path.join(root, d))).mtimeMs });
  }
  const exact = pods.filter((p) => p.name === q.pod);
  const candidates = exact.length ? exact : pods;
  const names = [...new Set(candidates.map((p) => `${p.ns}/${p.name}`))];
  if (names.length === 0) {
    throw new HostError(`no logs for pod "${q.pod}"${q.namespace ? ` in namespace ${q.namespace}` : ''} under ${root}`, {
      hint: 'check the pod name (kubestrap ps), -n and --rootfs',
    });
  }
  if (names.length > 1) throw new HostError(`pod name "${q.pod}" is ambiguous: ${names.join(', ')}`, { hint: 'give the full name and -n namespace' });
  const pod = candidates.sort((a, b) => b.mtime - a.mtime)[0]!;
  const containers = (await entries(pod.dir)).sort();
  let container = q.container;
  if (!container) {
    if (containers.length !== 1) {
      throw new HostError(`pod ${pod.name} has containers ${containers.join(', ')}`, { field: '-c', hint: 'choose one with -c <container>' });
    }
    container = containers[0]!;
  }
  if (!containers.includes(container)) {
    throw new HostError(`container "${container}" not found in pod ${pod.name}`, { field: '-c', hint: `one of: ${containers.join(', ')}` });
  }
  const attempts = (await entries(path.join(pod.dir, container)))
    .map((f) => /^(\d+)\.log$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  const pick = attempts[q.previous ? 1 : 0];
  if (pick === undefined) {
    throw new HostError(
      q.previous
        ? `previous terminated container "${container}" in pod "${pod.name}" not found`
        : `no log file for container "${container}" in pod "${pod.name}"`,
    );
  }
  return path.join(pod.dir, container, `${pick}.log`);
}
