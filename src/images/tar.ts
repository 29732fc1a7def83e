/**
 * A minimal, deterministic ustar writer: regular files, directories and symlinks, owner root, fixed
 * mtime. That is all an image layer or an OCI image-layout archive needs, and writing the 512-byte
 * headers ourselves keeps image digests stable without a dependency whose output might change.
 */
import path from 'node:path';

export interface TarEntry {
  /** Path inside the archive, relative, '/'-separated (a leading '/' is stripped). */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits, e.g. 0o755 (setuid/sticky allowed). */
  mode: number;
  /** File content; ignored for directories and symlinks. */
  content?: Buffer;
  /** A symlink's target (ustar's linkname, at most 100 bytes), e.g. `xtables-nft-multi`. */
  linkTarget?: string;
}

const TYPE_FLAGS: Readonly<Record<TarEntry['type'], string>> = { file: '0', symlink: '2', dir: '5' };

const BLOCK = 512;
/** Fixed modification time (the epoch): the same input always gives the same bytes. */
const MTIME = 0;

/** Writes `value` as a NUL-terminated, zero-padded octal number filling `width` bytes. */
function octal(header: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) throw new RangeError(`tar: ${value} does not fit in ${width - 1} octal digits`);
  header.write(`${digits}\0`, offset, width, 'ascii');
}

/** Splits a long path into ustar's prefix (155) and name (100) fields at a '/'. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.lastIndexOf('/', name.length - 2); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { prefix, name: rest };
  }
  throw new RangeError(`tar: path too long for ustar: ${name}`);
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let name = entry.path.replace(/^\/+/, '');
  name = path.posix.normalize(name);
  if (entry.type === 'dir' && !name.endsWith('/')) name += '/';
  const split = splitName(name);
  h.write(split.name, 0, 100, 'utf8');
  octal(h, 100, 8, entry.mode & 0o7777);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, MTIME);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(TYPE_FLAGS[entry.type], 156, 1, 'ascii');
  if (entry.type === 'symlink') {
    const target = entry.linkTarget ?? '';
    if (target === '' || Buffer.byteLength(target) > 100) throw new RangeError(`tar: symlink ${name} needs a target of 1..100 bytes`);
    h.write(target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(split.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The archive bytes for `entries`, in the given order, with the two-block end marker. */
export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(header(entry, content.length));
    if (content.length > 0) {
      parts.push(content);
      const pad = (BLOCK - (content.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/**
 * Adds the parent directories each file needs (mode 0755 unless listed explicitly) and sorts
 * the result by path, so that any order of input gives the same archive.
 */
export function withParentDirs(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    const clean = path.posix.normalize(entry.path.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (clean === '' || clean === '.' || clean.startsWith('..')) throw new Error(`tar: bad path ${entry.path}`);
    byPath.set(clean, { ...entry, path: clean });
  }
  for (const clean of [...byPath.keys()]) {
    for (let dir = path.posix.dirname(clean); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'dir', mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
