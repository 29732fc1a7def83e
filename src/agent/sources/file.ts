/**
 * The file source (`staticPodPath` / `--pod-manifest-path`), kubelet-compatible where the kubelet
 * is right and stricter where it is known to hurt (reference/kubelet.md §1, §8):
 *
 * - a non-recursive fs.watch on the directory plus a full relist every fileCheckFrequency;
 * - only `*.yaml`, `*.yml`, `*.json`; dot files, editor swap/backup files and anything else are
 *   ignored, and each ignored file is logged once;
 * - what is there but cannot be a manifest is a SourceError (in /errors and `kubestrap ps`, once):
 *   a subdirectory (not a dot one: the kubelet does not recurse either), a manifest name that is a
 *   symlink to a directory or to nothing, a FIFO, socket or device (never opened blocking);
 * - an event only schedules a read after a quiet period, and a read is used only when the file has
 *   not been modified for that period, so chunked in-place writes are never read half-way; content
 *   that does not decode gets one more, later read before it counts as broken;
 * - except a file renamed into place from a temp file of the same directory (kubestrap's own
 *   writes, most tools that write atomically): complete by definition, it is read at once. Node's
 *   watch reports rename(2) and create alike ('rename'), so that is recognized by the pair of
 *   events inotify delivers together (the temp name, then the manifest name) and the manifest's
 *   inode being the one the temp file had (and born when it was: an inode number freed by a
 *   deleted temp file and reused at once for a file written in place does not count);
 * - a deleted file is acted on at once (its event), not at the next relist;
 * - a broken file keeps its last good pod and reports a SourceError (logged once per content);
 * - two files declaring one pod: the first in sorted file name order wins; the other gets an error
 *   naming both. A switch (winner removed) is logged.
 *
 * It emits complete snapshots; the merger turns them into events.
 */
import { constants as fsConstants, watch, type FSWatcher } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { KubestrapError, messageOf } from '../../errors.js';
import { podKey, resolveStaticPod, type PodAdmission } from '../identity.js';
import type { Logger } from '../log.js';
import type { SourceError, StaticPod } from '../pod-types.js';
import { decodeDocument, MAX_MANIFEST_BYTES } from '../../pod/decode.js';
import type { PodSource, SnapshotListener, SourceSnapshot } from './types.js';
import { danglingLink, ignoreReason, notRegular, readSmall } from './entries.js';

export { ignoreReason } from './entries.js';

export interface FileSourceOptions {
  /** Real path (rootfs applied) of the manifest directory, or of a single manifest file. */
  path: string;
  nodeName: string;
  /** Full relist period (kubelet fileCheckFrequency, default 20 s). */
  checkFrequencyMs: number;
  /** A file must be unmodified this long before it is read (default 50 ms). */
  quietMs?: number;
  logger: Logger;
  /** The runtime's veto on pods it can never run (Runtime.refuses). */
  admit?: PodAdmission;
}

interface Entry {
  /** The bytes last read and settled (good or broken). */
  content: Buffer;
  /** The pod of the last good content, kept while the file is broken. */
  pod?: StaticPod;
  /** Set while the current content is broken. */
  error?: { message: string; since: Date };
}

interface Pending {
  timer?: NodeJS.Timeout;
  observedAt: number;
  /** Bytes of a read that did not decode, re-read once more before they count as broken. */
  suspect?: Buffer;
  /** Renamed into place from a temp file: no quiet period. */
  complete?: boolean;
}

/** How many temp files' inodes are remembered (a writer's temp names are random: bounded, oldest dropped). */
const TEMP_INODES = 64;

const errorText = (err: unknown): string => (err instanceof KubestrapError ? err.oneLine() : messageOf(err));

export class FileSource implements PodSource {
  readonly name = 'file' as const;
  private readonly quietMs: number;
  private readonly log: Logger;
  private dir = '';
  /** Set when staticPodPath is one file: only that name is considered. */
  private only: string | undefined;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
  private readonly loggedIgnored = new Set<string>();
  /** Duplicate errors by origin, so their `since` and log line survive relists. */
  private duplicates = new Map<string, SourceError>();
  private winners = new Map<string, string>();
  private loggedErrors = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private listener: SnapshotListener | undefined;
  private lastEmitted = '';
  private missingLogged = false;
  private stopped = false;
  private relisting: Promise<void> | undefined;
  /** While a relist reads many files, emits are collected into one (else a relist is O(n²)). */
  private batching = false;
  private dirtySince: number | undefined;
  /** Inode and birth time of each ignored file (a writer's temp file) as last seen, to recognize its rename into place. */
  private readonly tempInodes = new Map<string, { ino: number; born: number }>();
  /** Names of the 'rename' events of the current batch of watch events (one inotify read; cleared after it). */
  private batchRenames: string[] = [];

  constructor(private readonly options: FileSourceOptions) {
    this.quietMs = options.quietMs ?? 50;
    this.log = options.logger.child({ component: 'file-source' });
  }

  async start(listener: SnapshotListener): Promise<void> {
    this.listener = listener;
    const target = path.resolve(this.options.path);
    const st = await stat(target).catch(() => undefined);
    if (st?.isFile()) {
      this.dir = path.dirname(target);
      this.only = path.basename(target);
    } else {
      this.dir = target;
    }
    await this.relist(Date.now(), true);
    this.relistTimer = setInterval(() => void this.relist(Date.now(), false), this.options.checkFrequencyMs);
    this.relistTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listener = undefined;
    clearInterval(this.relistTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.watcher?.close();
    this.watcher = undefined;
    await this.relisting;
  }

  private ensureWatch(): void {
    if (this.watcher || this.stopped) return;
    try {
      const w = watch(this.dir, { persistent: false }, (event, filename) => {
        if (filename === null) return void this.relist(Date.now(), false);
        const name = filename.toString();
        let movedFrom: string | undefined;
        if (event === 'rename') {
          // inotify's IN_MOVED_FROM and IN_MOVED_TO of one rename come in one read, in that order
          movedFrom = this.batchRenames.at(-1);
          if (this.batchRenames.push(name) === 1) setImmediate(() => (this.batchRenames = []));
        }
        this.onEvent(name, Date.now(), movedFrom);
      });
      w.on('error', (err) => {
        // The directory went away or inotify failed: drop the watcher; the next relist makes a new one.
        this.log.warn('watch failed; relying on relist until it can be re-established', { dir: this.dir, error: messageOf(err) });
        w.close();
        if (this.watcher === w) this.watcher = undefined;
        void this.relist(Date.now(), false);
      });
      this.watcher = w;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('cannot watch directory', { dir: this.dir, error: messageOf(err) });
    }
  }

  /**
   * Names this source reads (or reports); logs each ignored name once. A directory is reported
   * whatever its name, except a dot directory (.git, ..data of a projected volume).
   */
  private wanted(name: string, isDir = false): boolean {
    if (this.only !== undefined) return name === this.only;
    const reason = isDir ? (name.startsWith('.') ? 'dot directory' : undefined) : ignoreReason(name);
    if (reason === undefined) return true;
    if (!this.loggedIgnored.has(name)) {
      this.loggedIgnored.add(name);
      this.log.info('ignoring file', { file: path.join(this.dir, name), reason });
    }
    return false;
  }

  /** `movedFrom`: the name of the 'rename' event just before this one in the same batch, if any. */
  private onEvent(name: string, observedAt: number, movedFrom?: string): void {
    if (this.stopped) return;
    // lstat right away: a delete is acted on now, anything else waits for the file to go quiet,
    // unless it is a temp file's inode renamed into place.
    lstat(path.join(this.dir, name)).then(
      (st) => {
        if (this.wanted(name, st.isDirectory())) {
          const temp = movedFrom !== undefined && movedFrom !== name ? this.tempInodes.get(movedFrom) : undefined;
          const renamed = st.isFile() && temp?.ino === st.ino && temp.born === st.birthtimeMs;
          if (renamed) this.tempInodes.delete(movedFrom!);
          this.schedule(name, observedAt, renamed ? 0 : this.quietMs, undefined, renamed);
        } else if (st.isFile()) {
          this.tempInodes.delete(name);
          this.tempInodes.set(name, { ino: st.ino, born: st.birthtimeMs });
          if (this.tempInodes.size > TEMP_INODES) this.tempInodes.delete(this.tempInodes.keys().next().value!);
        }
      },
      () => this.remove(name, observedAt),
    );
  }

  private schedule(name: string, observedAt: number, delayMs: number, suspect?: Buffer, complete = false): void {
    if (this.stopped) return;
    const prev = this.pending.get(name);
    if (prev) clearTimeout(prev.timer);
    const first = prev ? Math.min(prev.observedAt, observedAt) : observedAt;
    const timer = setTimeout(() => void this.settle(name), delayMs);
    this.pending.set(name, { timer, observedAt: first, suspect: suspect ?? prev?.suspect, complete });
  }

  private remove(name: string, observedAt: number): void {
    const p = this.pending.get(name);
    if (p) clearTimeout(p.timer);
    this.pending.delete(name);
    if (!this.entries.delete(name)) return;
    this.log.info('manifest removed', { file: path.join(this.dir, name) });
    this.emit(observedAt);
  }

  /** Reads a file if it has been quiet long enough; decides good, broken, or "read again later". */
  private async settle(name: string): Promise<void> {
    const p = this.pending.get(name);
    if (!p || this.stopped) return;
    const observedAt = p.observedAt;
    const file = path.join(this.dir, name);
    let content: Buffer;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer
      const fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      try {
        const st = await fh.stat();
        const age = Date.now() - st.mtimeMs;
        if (!st.isFile()) {
          content = Buffer.from(`\0${await notRegular(file, st)}`);
        } else if (age < this.quietMs && !p.complete) {
          this.schedule(name, observedAt, this.quietMs - age + 1);
          return;
        } else {
          content = st.size > MAX_MANIFEST_BYTES ? Buffer.from(`\0is larger than 10 MiB (${st.size} bytes)`) : await fh.readFile();
        }
      } finally {
        await fh.close();
      }
    } catch (err) {
      const dangling = (err as NodeJS.ErrnoException).code === 'ENOENT' ? await danglingLink(file) : undefined;
      if (dangling !== undefined) content = Buffer.from(`\0${dangling}`);
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.remove(name, observedAt);
      else content = Buffer.from(`\0${messageOf(err)}`);
    }
    if (this.pending.get(name) !== p) return; // a newer event re-armed the timer while we read
    this.pending.delete(name);
    const entry = this.entries.get(name);
    if (entry?.content.equals(content)) return; // touch/chmod or a write of identical bytes
    let pod: StaticPod;
    try {
      if (content.length > 0 && content[0] === 0) throw new KubestrapError(content.subarray(1).toString(), { file });
      pod = resolveStaticPod({
        manifest: decodeDocument(content, file),
        source: 'file',
        origin: file,
        nodeName: this.options.nodeName,
        seen: new Date(),
        admit: this.options.admit,
      });
    } catch (err) {
      if (!(p.suspect?.equals(content) ?? false) && content[0] !== 0) {
        // Maybe a writer paused mid-file: read once more after a longer quiet period.
        this.schedule(name, observedAt, this.quietMs * 4, content);
        return;
      }
      this.accept(name, content, observedAt, err);
      return;
    }
    this.accept(name, content, observedAt, undefined, pod);
  }

  private accept(name: string, content: Buffer, observedAt: number, err: unknown, pod?: StaticPod): void {
    const previous = this.entries.get(name);
    if (pod) {
      this.entries.set(name, { content, pod });
      if (previous?.pod?.uid !== pod.uid) this.log.info('manifest accepted', { file: path.join(this.dir, name), pod: podKey(pod), uid: pod.uid });
    } else {
      this.entries.set(name, { content, pod: previous?.pod, error: { message: errorText(err), since: new Date() } });
    }
    this.emit(observedAt);
  }

  /** Lists the directory: new/changed files are settled, vanished ones removed. */
  private relist(observedAt: number, initial: boolean): Promise<void> {
    if (this.relisting) return this.relisting;
    this.relisting = this.doRelist(observedAt, initial).finally(() => {
      this.relisting = undefined;
    });
    return this.relisting;
  }

  private async doRelist(observedAt: number, initial: boolean): Promise<void> {
    if (this.stopped) return;
    let names: string[];
    try {
      const dirents = await readdir(this.dir, { withFileTypes: true });
      names = dirents.filter((d) => this.wanted(d.name, d.isDirectory())).map((d) => d.name);
      this.missingLogged = false;
    } catch (err) {
      if (!this.missingLogged) {
        this.missingLogged = true;
        this.log.warn('manifest directory cannot be read; retrying at each relist', { dir: this.dir, error: messageOf(err) });
      }
      names = [];
    }
    this.ensureWatch();
    const present = new Set(names);
    let changed = false;
    this.batching = true;
    for (const name of [...this.entries.keys()]) {
      if (!present.has(name)) {
        this.entries.delete(name);
        this.log.info('manifest removed', { file: path.join(this.dir, name) });
        changed = true;
      }
    }
    // Read in parallel; each file's fate is decided in settle(), as for a watch event.
    await Promise.all(
      names.map(async (name) => {
        if (this.pending.has(name)) return;
        if (!initial) {
          const content = await readSmall(path.join(this.dir, name));
          if (content && this.entries.get(name)?.content.equals(content)) return;
        }
        this.pending.set(name, { observedAt });
        await this.settle(name);
      }),
    ).finally(() => {
      this.batching = false;
    });
    const dirtySince = this.dirtySince;
    this.dirtySince = undefined;
    if (changed || initial || dirtySince !== undefined) this.emit(Math.min(observedAt, dirtySince ?? observedAt), initial);
  }

  /** Builds the complete snapshot (duplicates resolved) and hands it on if anything changed. */
  private emit(observedAt: number, force = false): void {
    if (this.stopped || !this.listener) return;
    if (this.batching) {
      this.dirtySince = Math.min(this.dirtySince ?? observedAt, observedAt);
      return;
    }
    const snapshot = this.snapshot(observedAt);
    const signature = JSON.stringify([snapshot.pods.map((p) => p.uid), snapshot.errors.map((e) => [e.origin, e.message, e.keptPod])]);
    if (!force && signature === this.lastEmitted) return;
    this.lastEmitted = signature;
    this.listener(snapshot);
  }

  private snapshot(observedAt: number): SourceSnapshot {
    const pods: StaticPod[] = [];
    const errors: SourceError[] = [];
    const winners = new Map<string, string>();
    const duplicates = new Map<string, SourceError>();
    for (const name of [...this.entries.keys()].sort()) {
      const entry = this.entries.get(name)!;
      const origin = path.join(this.dir, name);
      const kept = entry.pod ? { namespace: entry.pod.namespace, name: entry.pod.name } : undefined;
      if (entry.error) errors.push({ source: 'file', origin, message: entry.error.message, keptPod: kept, since: entry.error.since });
      if (!entry.pod) continue;
      const key = podKey(entry.pod);
      const winner = winners.get(key);
      if (winner === undefined) {
        winners.set(key, origin);
        pods.push(entry.pod);
        continue;
      }
      const message = `${origin}: pod "${key}" is also declared by ${winner}, which comes first in sorted order; this file is ignored (remove or rename one of them)`;
      const prev = this.duplicates.get(origin);
      const dup: SourceError = { source: 'file', origin, message, since: prev?.message === message ? prev.since : new Date() };
      duplicates.set(origin, dup);
      errors.push(dup);
    }
    for (const [key, origin] of winners) {
      const before = this.winners.get(key);
      if (before !== undefined && before !== origin && !this.entries.has(path.basename(before))) {
        this.log.warn('pod now comes from another file (the file that declared it first is gone)', { pod: key, file: origin, previous: before });
      }
    }
    this.winners = winners;
    this.duplicates = duplicates;
    const logged = new Map<string, string>();
    for (const e of errors) {
      logged.set(e.origin, e.message);
      if (this.loggedErrors.get(e.origin) !== e.message) {
        this.log.error('manifest refused', { file: e.origin, error: e.message, keptPod: e.keptPod ? `${e.keptPod.namespace}/${e.keptPod.name}` : undefined });
      }
    }
    this.loggedErrors = logged;
    return { source: 'file', pods, errors, observedAt };
  }
}
