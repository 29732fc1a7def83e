import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, cp, lstat, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HostError, messageOf } from '../errors.js';
import { readMountPoints } from './mountinfo.js';

/** One write a phase wants to make; in dry-run mode this is all that happens. */
export interface PlannedWrite {
  /** Host path (without the rootfs prefix), e.g. /etc/kubernetes/pki/ca.crt. */
  path: string;
  mode: number;
  content: string | Buffer;
}

/** A removal, move or copy a dry run would have made (host paths, without the rootfs prefix). */
export interface PlannedChange {
  op: 'remove' | 'move' | 'copy';
  path: string;
  /** Destination of a move or copy. */
  to?: string;
}

export interface RemoveOptions {
  /**
   * Remove only what is inside the directory, keep the directory itself (kubeadm's CleanDir, and
   * what an upgrade's restore needs).
   */
  contentsOnly?: boolean;
}

/**
 * The host file system as the phases and the agent see it: every absolute host path (/etc/kubernetes,
 * /var/lib/etcd, ...) is mapped under `rootfs`, so tests and multi-node simulations never touch the
 * real /etc. Writes are atomic (temp file + rename in the same directory) and carry their mode from
 * the start, so a reader never sees a half-written key or a world-readable one. Removals never take
 * a mount point away (an etcd data disk mounted at /var/lib/etcd is emptied, not unmounted or
 * rmdir'ed). In a dry run nothing changes on disk; writes and changes are recorded, and reads see
 * the planned writes (and not what a planned removal would delete).
 */
export class Host {
  /** Absolute rootfs prefix; '/' for the real host. */
  readonly rootfs: string;
  readonly dryRun: boolean;
  /** What a dry run would have written, in order. */
  readonly planned: PlannedWrite[] = [];
  /** The removals, moves and copies a dry run would have made, in order. */
  readonly plannedChanges: PlannedChange[] = [];

  constructor(rootfs = '/', options: { dryRun?: boolean } = {}) {
    this.rootfs = path.resolve(rootfs);
    this.dryRun = options.dryRun ?? false;
  }

  /** The real path of a host path: `/etc/x` → `<rootfs>/etc/x`. */
  path(hostPath: string): string {
    if (!path.isAbsolute(hostPath)) return hostPath;
    return this.rootfs === '/' ? hostPath : path.join(this.rootfs, hostPath);
  }

  /**
   * `path()` for a path that may already be a real one: files written by a process run with
   * rootfs-mapped flags (the kubelet) name paths under the rootfs, which must not be prefixed twice.
   */
  pathOnce(hostPath: string): string {
    return this.rootfs !== '/' && hostPath.startsWith(`${this.rootfs}/`) ? hostPath : this.path(hostPath);
  }

  /** Checks that the rootfs can be used: it must be a directory (it is created when missing). */
  async checkRootfs(): Promise<void> {
    if (this.rootfs === '/') return;
    try {
      const st = await stat(this.rootfs);
      if (!st.isDirectory()) {
        throw new HostError(`--rootfs ${this.rootfs} is not a directory`, { hint: 'pass a directory, or omit --rootfs' });
      }
    } catch (err) {
      if (err instanceof HostError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new HostError(`--rootfs ${this.rootfs}: ${messageOf(err)}`, { cause: err });
      }
      if (!this.dryRun) await mkdir(this.rootfs, { recursive: true, mode: 0o755 });
    }
  }

  /**
   * In a dry run, what a read of hostPath sees first: the content of its last planned write, or
   * `gone` when a removal or move planned after that write takes it away; undefined: read the disk.
   */
  private plannedState(hostPath: string): { content: string | Buffer } | 'gone' | undefined {
    if (!this.dryRun) return undefined;
    const within = (p: string, root: string): boolean => p === root || p.startsWith(`${root}/`);
    const write = this.planned.findLast((w) => w.path === hostPath);
    const change = this.plannedChanges.findLast((c) => c.op !== 'copy' && within(hostPath, c.path));
    const writeAt = write ? (this.order.get(write) ?? -1) : -1;
    const changeAt = change ? (this.order.get(change) ?? -1) : -1;
    if (change && changeAt > writeAt) return 'gone';
    return write ? { content: write.content } : undefined;
  }

  /** Order of planned writes and changes, so a removal after a write hides it (and not before). */
  private readonly order = new Map<PlannedWrite | PlannedChange, number>();

  private plan(entry: PlannedWrite | PlannedChange): void {
    this.order.set(entry, this.order.size);
    if ('op' in entry) this.plannedChanges.push(entry);
    else this.planned.push(entry);
  }

  async exists(hostPath: string): Promise<boolean> {
    const planned = this.plannedState(hostPath);
    if (planned !== undefined) return planned !== 'gone';
    try {
      await stat(this.path(hostPath));
      return true;
    } catch {
      return false;
    }
  }

  async readText(hostPath: string): Promise<string> {
    const planned = this.plannedState(hostPath);
    if (planned === 'gone') throw Object.assign(new Error(`ENOENT: ${hostPath} is removed in this dry run`), { code: 'ENOENT' });
    if (planned !== undefined) return planned.content.toString();
    return readFile(this.path(hostPath), 'utf8');
  }

  async readOptional(hostPath: string): Promise<Buffer | undefined> {
    const planned = this.plannedState(hostPath);
    if (planned === 'gone') return undefined;
    if (planned !== undefined) return Buffer.from(planned.content);
    try {
      return await readFile(this.path(hostPath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new HostError(`cannot read ${this.path(hostPath)}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Creates a directory (and parents) with the given mode; an existing one gets that mode too. */
  async mkdir(hostPath: string, mode = 0o755): Promise<void> {
    if (this.dryRun) return;
    const real = this.path(hostPath);
    await mkdir(real, { recursive: true, mode });
    await chmod(real, mode);
  }

  /**
   * Writes a file atomically with its final mode. Parent directories are created 0755 unless the
   * caller created them first with another mode.
   */
  async writeFile(hostPath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    if (this.dryRun) {
      this.plan({ path: hostPath, mode, content });
      return;
    }
    const real = this.path(hostPath);
    await mkdir(path.dirname(real), { recursive: true, mode: 0o755 });
    const tmp = path.join(path.dirname(real), `.${path.basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
      try {
        await fh.writeFile(content);
        await fh.chmod(mode); // the umask may have narrowed the mode given to open()
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, real);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new HostError(`cannot write ${real}: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Removes a file or a directory tree; what is already gone is fine. Mount points in the tree
   * (the path itself included) are emptied and kept: removing one would fail with EBUSY, and the
   * mount (a data disk) is the host's, not ours.
   */
  async remove(hostPath: string, options: RemoveOptions = {}): Promise<void> {
    if (this.dryRun) {
      this.plan({ op: 'remove', path: hostPath });
      return;
    }
    const real = this.path(hostPath);
    const mounts = new Set(await readMountPoints().catch(() => [] as string[]));
    try {
      await removeTree(real, mounts, options.contentsOnly === true);
    } catch (err) {
      throw new HostError(`cannot remove ${real}: ${messageOf(err)}`, { cause: err });
    }
  }

  /** Moves a file or directory (rename; across file systems a copy, then removal of the source). */
  move(from: string, to: string): Promise<void> {
    return this.transfer('move', from, to, async (src, dst) => {
      try {
        await rename(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await copyTree(src, dst);
        await removeTree(src, new Set(await readMountPoints().catch(() => [] as string[])), false);
      }
    });
  }

  /** Copies a file or directory tree, keeping modes and times (a backup before an upgrade). */
  copy(from: string, to: string): Promise<void> {
    return this.transfer('copy', from, to, copyTree);
  }

  /** A move or copy: recorded in a dry run, else done on the real paths with the destination's parent created. */
  private async transfer(op: 'move' | 'copy', from: string, to: string, fn: (src: string, dst: string) => Promise<void>): Promise<void> {
    if (this.dryRun) {
      this.plan({ op, path: from, to });
      return;
    }
    const [src, dst] = [this.path(from), this.path(to)];
    try {
      await mkdir(path.dirname(dst), { recursive: true, mode: 0o755 });
      await fn(src, dst);
    } catch (err) {
      throw new HostError(`cannot ${op} ${src} to ${dst}: ${messageOf(err)}`, { cause: err });
    }
  }
}

const copyTree = (src: string, dst: string): Promise<void> => cp(src, dst, { recursive: true, preserveTimestamps: true, force: true, verbatimSymlinks: true });

/**
 * Removes real path `p` (its contents only with contentsOnly); keeps every mount point, emptied,
 * and the directories above one. True when something was kept.
 */
async function removeTree(p: string, mounts: ReadonlySet<string>, contentsOnly: boolean): Promise<boolean> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!st.isDirectory()) {
    if (!contentsOnly) await unlink(p).catch(ignoreMissing);
    return contentsOnly;
  }
  let kept = false;
  for (const entry of await readdir(p).catch(() => [] as string[])) {
    if (await removeTree(path.join(p, entry), mounts, false)) kept = true;
  }
  if (contentsOnly || kept || mounts.has(p)) return true;
  await rmdir(p).catch(ignoreMissing);
  return false;
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
