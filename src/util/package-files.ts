/**
 * The files kubestrap ships beside its code — templates/, the .proto files, package.json — and the
 * command that starts kubestrap again (the agent daemon, join's kubelet supervisor). One home for
 * both ways kubestrap runs:
 *
 * - from the package (npm, `node bin/kubestrap.js`, tsx): files are read from the package tree, two
 *   directories above every module (src/<dir>/, dist/<dir>/ and dist/bundle/ alike);
 * - as the single executable (`npm run build:sea` → dist/kubestrap): the same files are SEA assets
 *   embedded in the binary under their package-relative names (scripts/build-sea.mjs lists them),
 *   and there is no package tree at all.
 *
 * No other module computes a path from import.meta.url, so both ways read the same bytes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';

/** True in dist/kubestrap (the Node single executable application). */
export function isSingleExecutable(): boolean {
  return sea.isSea();
}

let root: string | undefined;
/** The package root (where package.json is); only meaningful outside the single executable. */
export function packageRoot(): string {
  root ??= fileURLToPath(new URL('../../', import.meta.url));
  return root;
}

/** `rel` (package-relative, `/`-separated) as shown in messages: a path, or `<binary>:rel` in the SEA. */
export function packageFileLabel(rel: string): string {
  return isSingleExecutable() ? `${process.execPath}:${rel}` : path.join(packageRoot(), rel);
}

/** A shipped file's bytes; throws ENOENT (as readFileSync does) when it is not there. */
export function readPackageFile(rel: string): Buffer {
  if (!isSingleExecutable()) return readFileSync(path.join(packageRoot(), rel));
  if (!sea.getAssetKeys().includes(rel)) {
    throw Object.assign(new Error(`ENOENT: ${rel} is not embedded in ${process.execPath}`), { code: 'ENOENT' });
  }
  return Buffer.from(sea.getRawAsset(rel));
}

/** The names of the files directly in the shipped directory `relDir` (e.g. `templates`), sorted. */
export function packageDirFiles(relDir: string): string[] {
  if (!isSingleExecutable()) return readdirSync(path.join(packageRoot(), relDir)).sort();
  const prefix = `${relDir.replace(/\/$/, '')}/`;
  return sea
    .getAssetKeys()
    .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
    .map((k) => k.slice(prefix.length))
    .sort();
}

/**
 * How to run this kubestrap again: `node [nodeFlags] …/bin/kubestrap.js`, or the single executable
 * itself (Node flags are not read from a single executable's command line, so none are passed).
 */
export function selfCommand(nodeFlags: readonly string[] = []): { command: string; args: string[] } {
  if (isSingleExecutable()) return { command: process.execPath, args: [] };
  return { command: process.execPath, args: [...nodeFlags, path.join(packageRoot(), 'bin', 'kubestrap.js')] };
}

/** Whether a /proc/<pid>/cmdline (split at NUL) is a kubestrap started by selfCommand(), either kind. */
export function isSelfCommandLine(cmdline: readonly string[]): boolean {
  return path.basename(cmdline[0] ?? '') === 'kubestrap' || cmdline.slice(1).some((a) => a.endsWith('kubestrap.js'));
}
