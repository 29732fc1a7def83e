/**
 * hostPath volumes for the process runtime: the source lives under the rootfs, the container sees
 * it at its mountPath through a bind mount in a private mount namespace. The shell script built here
 * runs under `unshare --mount --propagation private`, mounts, then execs the program (same pid).
 * With a --rootfs other than '/', nothing is created on the real host: a missing mount point is made
 * inside a namespace-private shadow of its nearest existing ancestor (shadow.ts).
 */
import type { Stats } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { HostError } from '../../../errors.js';
import type { Host } from '../../../host/host.js';
import { readMountPoints } from '../../../host/mountinfo.js';
import { inCwd, planShadows, quote, scratchScript, shadowScript, within, type Shadow, type ShadowScriptOptions } from './shadow.js';

export interface BindMount {
  /** Real source path (rootfs included). */
  source: string;
  /** Path as the container sees it. */
  target: string;
  readOnly: boolean;
  isFile: boolean;
  /** The mount point is missing on the host: the script creates it inside a shadow first. */
  create: boolean;
}

export interface MountPlan {
  /** Host directories shadowed inside the namespace, parents first. */
  shadows: Shadow[];
  /** In mount order: a mountPath before the ones below it. */
  binds: BindMount[];
}

const statOf = (p: string): Promise<Stats | undefined> => stat(p).catch(() => undefined);

async function createMountPoint(real: string, isFile: boolean): Promise<void> {
  if (isFile) {
    await mkdir(path.dirname(real), { recursive: true, mode: 0o755 });
    await writeFile(real, '', { flag: 'a' });
  } else {
    await mkdir(real, { recursive: true, mode: 0o755 });
  }
}

/** The volume sources, creating them for the *OrCreate types; in the container's volumeMounts order. */
async function resolveSources(host: Host, pod: V1Pod, container: V1Container): Promise<Omit<BindMount, 'create'>[]> {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const binds: Omit<BindMount, 'create'>[] = [];
  for (const [i, vm] of (container.volumeMounts ?? []).entries()) {
    const field = `spec.containers[${container.name}].volumeMounts[${i}]`;
    const volume = volumes.get(vm.name);
    if (!volume?.hostPath) {
      throw new HostError(`volume "${vm.name}" is not a hostPath volume`, {
        field,
        hint: 'the process runtime supports hostPath volumes only; use --runtime cri',
      });
    }
    const type = volume.hostPath.type ?? '';
    const source = host.path(vm.subPath ? path.posix.join(volume.hostPath.path, vm.subPath) : volume.hostPath.path);
    let st = await statOf(source);
    if (!st) {
      if (type === 'FileOrCreate') {
        await mkdir(path.dirname(source), { recursive: true, mode: 0o755 });
        await writeFile(source, '', { mode: 0o644, flag: 'a' });
      } else if (type === '' || type === 'DirectoryOrCreate') {
        await mkdir(source, { recursive: true, mode: 0o755 });
      } else {
        throw new HostError(`hostPath ${volume.hostPath.path} (${source}) does not exist`, {
          field: `spec.volumes[${vm.name}].hostPath`,
          hint: `create it, or use type ${type.startsWith('File') ? 'FileOrCreate' : 'DirectoryOrCreate'}`,
        });
      }
      st = await stat(source);
    }
    if (source === vm.mountPath && !vm.readOnly) continue;
    binds.push({ source, target: path.posix.normalize(vm.mountPath), readOnly: vm.readOnly === true, isFile: !st.isDirectory() });
  }
  return binds;
}

/** Nearest existing ancestor of a missing host path; it must be a directory other than '/'. */
async function nearestExisting(target: string, field: string): Promise<string> {
  let dir = path.posix.dirname(target);
  let st = await statOf(dir);
  while (!st) {
    dir = path.posix.dirname(dir);
    st = await statOf(dir);
  }
  if (!st.isDirectory()) {
    throw new HostError(`mountPath ${target} cannot be created: ${dir} is not a directory`, { field, hint: 'use a mountPath below a directory' });
  }
  if (dir === '/') {
    // a mount over / does not change the process's own root, so no shadow can hide the new entry
    throw new HostError(`mountPath ${target} would need a new top-level directory on the real host`, {
      field,
      hint: 'use a mountPath below an existing directory (e.g. /var/lib/...), or --rootfs /',
    });
  }
  return dir;
}

/**
 * Resolves the container's hostPath mounts: sources created under the rootfs for the *OrCreate
 * types, mount points planned without writing outside the rootfs. Only mounts that need a bind
 * (source ≠ mountPath, or read-only) are returned.
 */
export async function prepareMounts(host: Host, pod: V1Pod, container: V1Container): Promise<MountPlan> {
  const depth = (p: string): number => p.split('/').length;
  // parents first (as containerd orders mounts), so a nested mountPath lands inside its parent's bind
  const sources = (await resolveSources(host, pod, container)).sort((a, b) => depth(a.target) - depth(b.target));
  const binds: BindMount[] = [];
  const shadowDirs: string[] = [];
  for (const b of sources) {
    const field = `spec.containers[${container.name}].volumeMounts[${b.target}]`;
    const parent = binds.filter((p) => within(b.target, p.target)).at(-1);
    if (parent) {
      // the mount point is inside the parent's source, which is under the rootfs
      const real = path.join(parent.source, path.posix.relative(parent.target, b.target));
      if (!(await statOf(real))) await createMountPoint(real, b.isFile);
      binds.push({ ...b, create: false });
    } else if (await statOf(b.target)) {
      binds.push({ ...b, create: false });
    } else if (host.rootfs === '/') {
      // the real host is the rootfs: its mount points may be created in place
      await createMountPoint(b.target, b.isFile);
      binds.push({ ...b, create: false });
    } else {
      shadowDirs.push(await nearestExisting(b.target, field));
      binds.push({ ...b, create: true });
    }
  }
  const shadows = shadowDirs.length ? planShadows(shadowDirs, await readMountPoints()) : [];
  return { shadows, binds };
}

export interface MountScriptOptions extends ShadowScriptOptions {
  /** Per-container scratch directory (real path, under the rootfs) for the shadows' tmpfs. */
  scratch?: string;
  workingDir?: string;
}

/**
 * The /bin/sh script that mounts and then execs the program with its arguments ("$@"). A source
 * below a shadowed directory is bind-mounted into the scratch directory before the shadows go up:
 * through the shadow, its writes would land in the overlay's upper layer instead of the rootfs.
 */
export function mountScript(plan: MountPlan, options: MountScriptOptions = {}): string {
  const lines = ['set -e'];
  const staged = new Map<BindMount, string>();
  if (plan.shadows.length) {
    if (!options.scratch) throw new Error('mountScript: shadows need a scratch directory');
    lines.push(...scratchScript(options.scratch));
    for (const b of plan.binds) {
      if (!plan.shadows.some((s) => within(b.source, s.dir))) continue;
      const name = `source-${staged.size}`;
      staged.set(b, inCwd(name));
      lines.push(b.isFile ? `: > ${name}` : `mkdir ${name}`, `mount --bind ${quote(b.source)} ${name}`);
    }
    lines.push(...shadowScript(plan.shadows, options));
  }
  for (const b of plan.binds) {
    if (b.create) {
      lines.push(b.isFile ? `mkdir -p ${quote(path.posix.dirname(b.target))}; : >> ${quote(b.target)}` : `mkdir -p ${quote(b.target)}`);
    }
    const from = staged.get(b);
    lines.push(from ? `mount -c --bind ${from} ${quote(b.target)}` : `mount --bind ${quote(b.source)} ${quote(b.target)}`);
    if (b.readOnly) lines.push(`mount -o remount,bind,ro ${quote(b.target)}`);
  }
  // the working directory may be a mount point: enter it only after mounting
  if (options.workingDir) lines.push(`cd ${quote(options.workingDir)}`);
  else if (plan.shadows.length) lines.push('cd /');
  lines.push('exec "$@"');
  return lines.join('\n');
}
