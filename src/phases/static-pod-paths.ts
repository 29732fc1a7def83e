/**
 * kubeadm's StaticPodPathManager, the one seam through which `upgrade apply`, `upgrade node` and
 * `upgrade diff` touch static Pod manifests: where a component's manifest lives, where this run
 * backs it up (`/etc/kubernetes/tmp/kubestrap-backup-manifests-<time>/`, kept after the run, as
 * kubeadm keeps its `kubeadm-backup-manifests-*`), the etcd data-dir copy beside it, the atomic
 * write of a new manifest, the restore of every backed-up one, and the unified diff of a change.
 * Every file operation goes through Host (rootfs prefix, tmp + rename, dry-run plans).
 */
import { posix } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { Host } from '../host/host.js';
import type { ComponentName } from '../manifests/index.js';

/** kubeadm's constants.TempDir under the Kubernetes directory. */
export const UPGRADE_TMP_DIR = 'tmp';
export const BACKUP_MANIFESTS_PREFIX = 'kubestrap-backup-manifests-';
export const BACKUP_ETCD_PREFIX = 'kubestrap-backup-etcd-';

/** `2026-12-01-15-20-47`: kubeadm's time layout of its backup directories. */
export function backupStamp(at: Date): string {
  return at.toISOString().slice(0, 19).replace(/[T:]/g, '-');
}

export interface Backup {
  component: ComponentName;
  /** Host path of the backed-up manifest. */
  backup: string;
  /** The manifest's text before this run touched it. */
  yaml: string;
}

export class StaticPodPathManager {
  readonly backupManifestDir: string;
  readonly backupEtcdDir: string;
  /** Backups made in this run, in the order they were made. */
  private readonly backups = new Map<ComponentName, Backup>();

  constructor(
    readonly host: Host,
    readonly kubernetesDir: string,
    readonly manifestsDir: string,
    at: Date = new Date(),
  ) {
    const stamp = backupStamp(at);
    this.backupManifestDir = posix.join(kubernetesDir, UPGRADE_TMP_DIR, `${BACKUP_MANIFESTS_PREFIX}${stamp}`);
    this.backupEtcdDir = posix.join(kubernetesDir, UPGRADE_TMP_DIR, `${BACKUP_ETCD_PREFIX}${stamp}`);
  }

  realManifestPath(component: ComponentName): string {
    return posix.join(this.manifestsDir, `${component}.yaml`);
  }

  backupManifestPath(component: ComponentName): string {
    return posix.join(this.backupManifestDir, `${component}.yaml`);
  }

  /** The running manifest's text; undefined when the file does not exist. */
  async current(component: ComponentName): Promise<string | undefined> {
    return (await this.host.readOptional(this.realManifestPath(component)))?.toString('utf8');
  }

  /**
   * Copies the current manifest into the backup directory (once per component and run: a second
   * call keeps the first, the version before this run) and records it for restore().
   */
  async backup(component: ComponentName): Promise<Backup> {
    const done = this.backups.get(component);
    if (done) return done;
    const yaml = await this.current(component);
    if (yaml === undefined) throw new Error(`no manifest of ${component} to back up at ${this.host.path(this.realManifestPath(component))}`);
    await this.host.mkdir(this.backupManifestDir, 0o700);
    await this.host.writeFile(this.backupManifestPath(component), yaml, 0o600);
    const entry = { component, backup: this.backupManifestPath(component), yaml };
    this.backups.set(component, entry);
    return entry;
  }

  /** Writes a manifest atomically (kubeadm's mode: directory 0700, file 0600); the agent sees old or new, never half. */
  async write(component: ComponentName, yaml: string): Promise<void> {
    await this.host.mkdir(this.manifestsDir, 0o700);
    await this.host.writeFile(this.realManifestPath(component), yaml, 0o600);
  }

  /** Takes a manifest away (the agent stops its pod): for etcd's data restore. */
  async remove(component: ComponentName): Promise<void> {
    await this.host.remove(this.realManifestPath(component));
  }

  /** The backups of this run, in backup order. */
  backedUp(): Backup[] {
    return [...this.backups.values()];
  }

  /** Puts every backed-up manifest back (atomically, each); returns what was restored. */
  async restoreAll(): Promise<Backup[]> {
    const restored: Backup[] = [];
    for (const b of this.backedUp()) {
      await this.write(b.component, b.yaml);
      restored.push(b);
    }
    return restored;
  }
}

/** A unified diff of a manifest change, as `diff -u` prints it; '' when the two are equal. */
export function manifestDiff(file: string, current: string, next: string): string {
  if (current === next) return '';
  return createTwoFilesPatch(file, file, current, next, 'current', 'new', { context: 3 });
}
