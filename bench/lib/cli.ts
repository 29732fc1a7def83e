/**
 * The real `kubestrap` CLI for benchmarks that measure the agent as a user runs it
 * (`node bin/kubestrap.js agent ...`). The repo's dist/ may be stale or half-built by someone else,
 * so the sources are built as `npm run build` builds them (tsc with the project's tsconfig, then
 * scripts/bundle.mjs's esbuild bundle, which bin/kubestrap.js imports) into a private tree under
 * .tmp/ (ignored by git, inside the repo so node_modules resolve), laid out like the package:
 * bin/, dist/ (dist/bundle/), package.json, and links to src/ (the CRI client reads api.proto
 * there) and templates/. The build is reused while no input is newer than it.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

async function newestMtime(p: string): Promise<number> {
  const st = await stat(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of await readdir(p)) newest = Math.max(newest, await newestMtime(path.join(p, e)));
  return newest;
}

/** What the build reads besides node_modules. */
const INPUTS = ['src', 'tsconfig.json', 'scripts/bundle.mjs', 'bin/kubestrap.js', 'package.json'];

/** Path of a `bin/kubestrap.js` running freshly built sources; `log` reports what it does. */
export async function builtCli(repo: string, log: (line: string) => void): Promise<string> {
  const root = path.join(repo, '.tmp', 'bench-cli');
  const bin = path.join(root, 'bin', 'kubestrap.js');
  const stampFile = path.join(root, 'stamp');
  const stamp = String(Math.max(...(await Promise.all(INPUTS.map((p) => newestMtime(path.join(repo, p)))))));
  if ((await readFile(stampFile, 'utf8').catch(() => '')) === stamp && (await stat(path.join(root, 'dist', 'bundle', 'kubestrap.js')).catch(() => undefined))) {
    log(`using the CLI built earlier in ${root}`);
    return bin;
  }
  log(`building the CLI into ${root} (tsc, then the esbuild bundle, as npm run build) ...`);
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
  await exec(process.execPath, [path.join(repo, 'scripts', 'bundle.mjs'), root], { maxBuffer: 16 << 20 });
  await stat(path.join(root, 'dist', 'bundle', 'kubestrap.js')).catch(() => {
    throw new Error('scripts/bundle.mjs produced no dist/bundle/kubestrap.js');
  });
  await copyFile(path.join(repo, 'bin', 'kubestrap.js'), bin);
  await copyFile(path.join(repo, 'package.json'), path.join(root, 'package.json'));
  await symlink(path.join(repo, 'src'), path.join(root, 'src'));
  await symlink(path.join(repo, 'templates'), path.join(root, 'templates'));
  await writeFile(stampFile, stamp);
  return bin;
}
