import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HostError, messageOf } from '../errors.js';

/** One write a phase wants to make; in dry-run mode this is all that happens. */
export interface PlannedWrite {
  /** Host path (without the rootfs prefix), e.g. /etc/kubernetes/pki/ca.crt. */
  path: string;
  mode: number;
  content: string | Buffer;
}

/**
 * The host file system as the phases and the agent see it: every absolute host path (/etc/kubernetes,
 * /var/lib/etcd, ...) is mapped under `rootfs`, so tests and multi-node simulations never touch the
 * real /etc. Writes are atomic (temp file + rename in the same directory) and carry their mode from
 * the start, so a reader never sees a half-written key or a world-readable one.
 */
export class Host {
  /** Absolute rootfs prefix; '/' for the real host. */
  readonly rootfs: string;
  readonly dryRun: boolean;
  /** What a dry run would have written, in order. */
  readonly planned: PlannedWrite[] = [];

  constructor(rootfs = '/', options: { dryRun?: boolean } = {}) {
    this.rootfs = path.resolve(rootfs);
    this.dryRun = options.dryRun ?? false;
  }

  /** The real path of a host path: `/etc/x` → `<rootfs>/etc/x`. */
  path(hostPath: string): string {
    if (!path.isAbsolute(hostPath)) return hostPath;
    return this.rootfs === '/' ? hostPath : path.join(this.rootfs, hostPath);
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
        throw new HostError(`--rootfs ${this.rootfs}: ${messageOf(err)}`);
      }
      if (!this.dryRun) await mkdir(this.rootfs, { recursive: true, mode: 0o755 });
    }
  }

  async exists(hostPath: string): Promise<boolean> {
    try {
      await stat(this.path(hostPath));
      return true;
    } catch {
      return false;
    }
  }

  async readText(hostPath: string): Promise<string> {
    return readFile(this.path(hostPath), 'utf8');
  }

  async readOptional(hostPath: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(hostPath));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new HostError(`cannot read ${this.path(hostPath)}: ${messageOf(err)}`);
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
      this.planned.push({ path: hostPath, mode, content });
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
      throw new HostError(`cannot write ${real}: ${messageOf(err)}`);
    }
  }
}
