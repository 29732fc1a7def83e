/**
 * hostPath volumes for the process runtime: the source lives under the rootfs, the container sees
 * it at its mountPath through a bind mount in a private mount namespace. The shell script built here
 * runs under `unshare --mount --propagation private`, mounts, then execs the program (same pid).
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { HostError } from '../../../errors.js';
import type { Host } from '../../../host/host.js';

export interface BindMount {
  /** Real source path (rootfs included). */
  source: string;
  /** Path as the container sees it. */
  target: string;
  readOnly: boolean;
  isFile: boolean;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Resolves the container's hostPath mounts, creating sources for the *OrCreate types and empty
 * mount points on the host; returns only the mounts that need a bind (source path ≠ mountPath).
 */
export async function prepareMounts(host: Host, pod: V1Pod, container: V1Container): Promise<BindMount[]> {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const binds: BindMount[] = [];
  for (const [i, vm] of (container.volumeMounts ?? []).entries()) {
    const field = `spec.containers[${container.name}].volumeMounts[${i}]`;
    const volume = volumes.get(vm.name);
    if (!volume?.hostPath) {
      throw new HostError(`volume "${vm.name}" is not a hostPath volume`, { field, hint: 'the process runtime supports hostPath volumes only; use --runtime cri' });
    }
    const type = volume.hostPath.type ?? '';
    const source = host.path(vm.subPath ? path.posix.join(volume.hostPath.path, vm.subPath) : volume.hostPath.path);
    let st = await stat(source).catch(() => undefined);
    if (!st) {
      if (type === 'FileOrCreate') {
        await mkdir(path.dirname(source), { recursive: true, mode: 0o755 });
        await writeFile(source, '', { mode: 0o644, flag: 'a' });
      } else if (type === '' || type === 'DirectoryOrCreate') {
        await mkdir(source, { recursive: true, mode: 0o755 });
      } else {
        throw new HostError(`hostPath ${volume.hostPath.path} (${source}) does not exist`, { field: `spec.volumes[${vm.name}].hostPath`, hint: `create it, or use type ${type.startsWith('File') ? 'FileOrCreate' : 'DirectoryOrCreate'}` });
      }
      st = await stat(source);
    }
    const target = vm.mountPath;
    const isFile = !st.isDirectory();
    if (source === target && !vm.readOnly) continue;
    const existing = await stat(target).catch(() => undefined);
    if (!existing) {
      if (isFile) {
        await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
        await writeFile(target, '', { flag: 'a' });
      } else {
        await mkdir(target, { recursive: true, mode: 0o755 });
      }
    }
    binds.push({ source, target, readOnly: vm.readOnly === true, isFile });
  }
  return binds;
}

/** The /bin/sh script that mounts and then execs the program with its arguments ("$@"). */
export function mountScript(binds: readonly BindMount[], workingDir?: string): string {
  const lines = ['set -e'];
  for (const b of binds) {
    lines.push(`mount --bind ${quote(b.source)} ${quote(b.target)}`);
    if (b.readOnly) lines.push(`mount -o remount,bind,ro ${quote(b.target)}`);
  }
  // the working directory may be a mount point: enter it only after mounting
  if (workingDir) lines.push(`cd ${quote(workingDir)}`);
  lines.push('exec "$@"');
  return lines.join('\n');
}
