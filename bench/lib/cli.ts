/**
 * The real `kubestrap` CLI for benchmarks that measure the agent as a user runs it
 * (`node bin/kubestrap.js agent ...`). The repo's dist/ may be stale or half-built by someone else,
 * so the sources are compiled with the project's tsconfig into a private tree under .tmp/ (ignored
 * by git, inside the repo so node_modules resolve), laid out like the package: bin/, dist/, and
 * links to src/ (dist/cri looks for api.proto there) and templates/. The build is reused while no
 * source file is newer than it.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, await newestMtime(p));
    else newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

/** Path of a `bin/kubestrap.js` running freshly compiled sources; `log` reports what it does. */
export async function builtCli(repo: string, log: (line: string) => void): Promise<string> {
  const root = path.join(repo, '.tmp', 'bench-cli');
  const bin = path.join(root, 'bin', 'kubestrap.js');
  const stampFile = path.join(root, 'stamp');
  const stamp = String(Math.max(await newestMtime(path.join(repo, 'src')), (await stat(path.join(repo, 'tsconfig.json'))).mtimeMs));
  const bundled = await stat(path.join(root, 'dist', 'bundle', 'kubestrap.js')).then(
    () => true,
    () => false,
  );
  if (bundled && (await readFile(stampFile, 'utf8').catch(() => '')) === stamp) {
    log(`using the CLI compiled earlier in ${root}`);
    return bin;
  }
  log(`compiling the CLI into ${root} (tsc) ...`);
  await rm(root, { recursive: true, force: true });
  await mkdir(path.join(root, 'bin'), { recursive: true });
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type errors in unrelated files still emit JavaScript (noEmitOnError is off); a missing cli.js is fatal.
  const out = await exec(process.execPath, [tsc, '-p', path.join(repo, 'tsconfig.json'), '--outDir', path.join(root, 'dist')], { maxBuffer: 16 << 20 }).catch(
    (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
  );
  await stat(path.join(root, 'dist', 'cli.js')).catch(() => {
    throw new Error(`tsc produced no dist/cli.js:\n${out.stdout.slice(0, 2000)}`);
  });
  if (out.stdout.trim()) log(`tsc reported type errors (JavaScript emitted anyway):\n${out.stdout.trim().split('\n').slice(0, 5).join('\n')}`);
  // bin/kubestrap.js runs dist/bundle/, as the package's own build does
  await exec(process.execPath, [path.join(repo, 'scripts', 'bundle.mjs'), root]);
  await copyFile(path.join(repo, 'bin', 'kubestrap.js'), bin);
  await symlink(path.join(repo, 'src'), path.join(root, 'src'));
  await symlink(path.join(repo, 'templates'), path.join(root, 'templates'));
  await writeFile(stampFile, stamp);
  return bin;
}
