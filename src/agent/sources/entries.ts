/**
 * What an entry of the manifest directory is, for the file source: names it ignores (and why), the
 * bytes of a regular file, and why an entry that is not a regular file cannot be a manifest.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { MAX_MANIFEST_BYTES } from '../../pod/decode.js';

/** Why a directory entry is not read; the first matching rule names the reason in the log. */
const IGNORE_RULES: readonly { test: (name: string) => boolean; reason: string }[] = [
  { test: (n) => n.startsWith('.'), reason: 'dot file' },
  { test: (n) => n.endsWith('~') || /^#.*#$/.test(n), reason: 'editor backup file' },
  { test: (n) => n === '4913' || /\.(swp|swo|swn|swx)$/i.test(n), reason: 'editor swap file' },
  { test: (n) => /\.(bak|orig|rej|old|save|tmp|temp|dpkg-[a-z]+|rpm[a-z]+)$/i.test(n) || /-bak$/i.test(n), reason: 'backup or temporary file' },
  { test: (n) => !/\.(ya?ml|json)$/i.test(n), reason: 'not *.yaml, *.yml or *.json' },
];

export function ignoreReason(name: string): string | undefined {
  return IGNORE_RULES.find((r) => r.test(name))?.reason;
}

/** The bytes of a file, or undefined when it cannot be read (the settle step reports why). */
export async function readSmall(file: string): Promise<Buffer | undefined> {
  try {
    const fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) return undefined;
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

/** Why a directory entry that is not a regular file cannot be a manifest. */
export async function notRegular(file: string, st: Stats): Promise<string> {
  const link = await readlink(file).catch(() => undefined);
  const what = st.isDirectory()
    ? 'a directory'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isSocket()
        ? 'a socket'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
  const how = st.isDirectory() ? 'manifests are not read from subdirectories: move its files up, or remove it' : 'a manifest is a regular file';
  return link !== undefined ? `is a symlink to ${what} (${link}); ${how}` : `is ${what}; ${how}`;
}

/** For a name that does not open as missing: the message when it is a symlink to nothing. */
export async function danglingLink(file: string): Promise<string | undefined> {
  const target = await readlink(file).catch(() => undefined);
  return target === undefined ? undefined : `is a symlink to ${target}, which does not exist (fix or remove the link)`;
}
