/**
 * hostPath volumes of the control-plane Pods (cmd/kubeadm/app/phases/controlplane/volumes.go).
 * Paths are the host's own (/etc/kubernetes/pki); `host` is only asked whether an optional CA
 * directory exists under the rootfs, because the agent bind-mounts `<rootfs><hostPath>`.
 */
import { releaseFor } from '../config/versions.js';
import path from 'node:path';
import type { ExternalEtcd, HostPathMount, HostPathType } from '../config/types.js';
import type { ResolvedConfig } from '../config/types.js';
import { KUBECONFIG_FILES } from '../constants.js';
import type { Host } from '../host/host.js';
import { getArg } from './args.js';
import type { ControlPlaneComponent, VolumeMountSpec, VolumeSpec } from './spec.js';

const CA_CERTS_PATH = '/etc/ssl/certs';
const DEFAULT_FLEXVOLUME_DIR = '/usr/libexec/kubernetes/kubelet-plugins/volume/exec';
/** Distribution CA bundles, mounted only where the host has them. */
const OPTIONAL_CA_DIRS = [
  '/etc/pki/ca-trust',
  '/etc/pki/tls/certs',
  '/etc/ca-certificates',
  '/usr/share/ca-certificates',
  '/usr/local/share/ca-certificates',
] as const;

interface Mount {
  volume: VolumeSpec;
  mount: VolumeMountSpec;
}

/** One component's volumes, keyed by name: a later mount with the same name replaces the earlier one. */
class MountSet {
  private readonly byName = new Map<string, Mount>();

  add(name: string, hostPath: string, mountPath: string, readOnly: boolean, type: HostPathType): void {
    this.byName.set(name, { volume: { name, hostPath, type }, mount: { name, mountPath, readOnly } });
  }

  addExtra(extra: readonly HostPathMount[]): void {
    for (const v of extra) this.add(v.name, v.hostPath, v.mountPath, v.readOnly ?? false, v.pathType ?? '');
  }

  volumes(): VolumeSpec[] {
    return this.sorted().map((m) => m.volume);
  }

  mounts(): VolumeMountSpec[] {
    return this.sorted().map((m) => m.mount);
  }

  private sorted(): Mount[] {
    return [...this.byName.values()].sort((a, b) => (a.volume.name < b.volume.name ? -1 : 1));
  }
}

export interface ComponentVolumes {
  volumes: VolumeSpec[];
  volumeMounts: VolumeMountSpec[];
}

/** `/usr/share/ca-certificates` → `usr-share-ca-certificates`. */
function volumeNameOf(dir: string): string {
  return dir.replace(/\//g, '-').slice(1);
}

/**
 * Directories holding external etcd client certificates that no other volume covers, named
 * `etcd-certs-<n>` in sorted order; a directory inside another listed one is dropped.
 */
export function externalEtcdCertDirs(etcd: ExternalEtcd, certificatesDir: string): string[] {
  const covered = [...OPTIONAL_CA_DIRS, CA_CERTS_PATH, certificatesDir];
  const dirs = new Set<string>();
  for (const file of [etcd.caFile, etcd.certFile, etcd.keyFile]) {
    const dir = path.posix.dirname(file || '.');
    // kubeadm compares plain string prefixes here, not path components.
    if (dir === '.' || covered.some((c) => dir.startsWith(c))) continue;
    let inside = false;
    for (const existing of [...dirs].sort()) {
      if (existing.startsWith(dir)) dirs.delete(existing);
      else if (dir.startsWith(existing)) inside = true;
    }
    if (!inside) dirs.add(dir);
  }
  return [...dirs].sort();
}

/** Volumes and mounts of the three control-plane components, as kubeadm of the cluster's minor lays them out. */
export async function controlPlaneVolumes(config: ResolvedConfig, host: Host): Promise<Record<ControlPlaneComponent, ComponentVolumes>> {
  const { cluster } = config;
  const pki = cluster.certificatesDir;
  const kubeDir = config.paths.kubernetesDir;
  const apiserver = new MountSet();
  const kcm = new MountSet();
  const scheduler = new MountSet();

  apiserver.add('k8s-certs', pki, pki, true, 'DirectoryOrCreate');
  apiserver.add('ca-certs', CA_CERTS_PATH, CA_CERTS_PATH, true, 'DirectoryOrCreate');
  if (cluster.etcd.external) {
    externalEtcdCertDirs(cluster.etcd.external, pki).forEach((dir, i) => apiserver.add(`etcd-certs-${i}`, dir, dir, true, 'DirectoryOrCreate'));
  }

  kcm.add('k8s-certs', pki, pki, true, 'DirectoryOrCreate');
  kcm.add('ca-certs', CA_CERTS_PATH, CA_CERTS_PATH, true, 'DirectoryOrCreate');
  const kcmConf = path.posix.join(kubeDir, KUBECONFIG_FILES.controllerManager);
  kcm.add('kubeconfig', kcmConf, kcmConf, true, 'FileOrCreate');
  if (releaseFor(cluster.kubernetesVersion).controllerManagerFlexVolumeDir) {
    const flexDir = getArg(cluster.controllerManager.extraArgs, 'flex-volume-plugin-dir') ?? DEFAULT_FLEXVOLUME_DIR;
    // Read-write: the controller-manager installs flexvolume drivers there.
    kcm.add('flexvolume-dir', flexDir, flexDir, false, 'DirectoryOrCreate');
  }

  const schedulerConf = path.posix.join(kubeDir, KUBECONFIG_FILES.scheduler);
  scheduler.add('kubeconfig', schedulerConf, schedulerConf, true, 'FileOrCreate');

  for (const dir of OPTIONAL_CA_DIRS) {
    if (!(await host.exists(dir))) continue;
    apiserver.add(volumeNameOf(dir), dir, dir, true, 'DirectoryOrCreate');
    kcm.add(volumeNameOf(dir), dir, dir, true, 'DirectoryOrCreate');
  }

  apiserver.addExtra(cluster.apiServer.extraVolumes);
  kcm.addExtra(cluster.controllerManager.extraVolumes);
  scheduler.addExtra(cluster.scheduler.extraVolumes);

  const out = (set: MountSet): ComponentVolumes => ({ volumes: set.volumes(), volumeMounts: set.mounts() });
  return {
    'kube-apiserver': out(apiserver),
    'kube-controller-manager': out(kcm),
    'kube-scheduler': out(scheduler),
  };
}
