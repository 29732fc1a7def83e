/**
 * A container's volumeMounts as CRI mounts. hostPath sources live under the rootfs and are checked or
 * created first (the kubelet's hostPath type checks: a missing source is the runtime's error to
 * report, except for the *OrCreate types); emptyDir volumes get a directory under the pod's dir, as the
 * kubelet's `/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>`.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import type { Input, Mount, MountPropagation } from '../../../cri/client.js';
import { HostError } from '../../../errors.js';
import type { Host } from '../../../host/host.js';
import type { RuntimePod } from '../types.js';

const PROPAGATION: Record<string, MountPropagation> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/** hostPath types that only check what is there, and how to tell. */
const TYPE_CHECKS: Record<string, (st: Stats) => boolean> = {
  Directory: (st) => st.isDirectory(),
  File: (st) => st.isFile(),
  Socket: (st) => st.isSocket(),
  CharDevice: (st) => st.isCharacterDevice(),
  BlockDevice: (st) => st.isBlockDevice(),
  DirectoryOrCreate: (st) => st.isDirectory(),
  FileOrCreate: (st) => st.isFile(),
};

async function prepareHostPath(real: string, hostPath: string, type: string, field: string): Promise<void> {
  let st = await stat(real).catch(() => undefined);
  if (!st) {
    if (type === 'DirectoryOrCreate') {
      await mkdir(real, { recursive: true, mode: 0o755 });
    } else if (type === 'FileOrCreate') {
      await mkdir(path.dirname(real), { recursive: true, mode: 0o755 });
      await writeFile(real, '', { mode: 0o644, flag: 'a' });
    } else if (type === '') {
      // No type: the kubelet does no check, and the runtime creates a missing source as a directory.
      return;
    } else {
      throw new HostError(`hostPath ${hostPath} (${real}) does not exist`, {
        field,
        hint: `create it, or use type ${type.startsWith('File') ? 'FileOrCreate' : 'DirectoryOrCreate'}`,
      });
    }
    st = await stat(real);
  }
  const check = TYPE_CHECKS[type];
  if (check && !check(st)) {
    throw new HostError(`hostPath ${hostPath} (${real}) is not a ${type.replace(/OrCreate$/, '')}`, { field });
  }
}

function emptyDirPath(pod: RuntimePod, volume: V1Volume): string {
  return `/var/lib/kubelet/pods/${pod.uid}/volumes/kubernetes.io~empty-dir/${volume.name}`;
}

/** Prepares the sources and returns the CRI mounts of one container, in volumeMounts order. */
export async function containerMounts(host: Host, pod: RuntimePod, container: V1Container): Promise<Input<Mount>[]> {
  const volumes = new Map((pod.pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const mounts: Input<Mount>[] = [];
  for (const [i, vm] of (container.volumeMounts ?? []).entries()) {
    const field = `spec.containers[${container.name}].volumeMounts[${i}]`;
    const volume = volumes.get(vm.name);
    let source: string;
    if (volume?.hostPath) {
      const hostPath = vm.subPath ? path.posix.join(volume.hostPath.path, vm.subPath) : volume.hostPath.path;
      source = host.path(hostPath);
      await prepareHostPath(source, hostPath, vm.subPath ? 'DirectoryOrCreate' : (volume.hostPath.type ?? ''), `spec.volumes[${vm.name}].hostPath`);
    } else if (volume?.emptyDir) {
      source = host.path(path.posix.join(emptyDirPath(pod, volume), vm.subPath ?? ''));
      await mkdir(source, { recursive: true, mode: 0o777 });
    } else {
      throw new HostError(`volume "${vm.name}" is ${volume ? 'of an unsupported type' : 'not declared in spec.volumes'}`, {
        field,
        hint: 'the agent supports hostPath and emptyDir volumes',
      });
    }
    mounts.push({
      containerPath: vm.mountPath,
      hostPath: source,
      readonly: vm.readOnly === true,
      propagation: PROPAGATION[vm.mountPropagation ?? 'None'] ?? 'PROPAGATION_PRIVATE',
    });
  }
  return mounts;
}
