// `npm run build:sea`: dist/kubestrap, one executable for machines without Node (the Vagrant lab's
// VMs run it from the synced folder). A Node single executable application: this Node's own binary
// with the CLI and the files it ships injected (https://nodejs.org/api/single-executable-applications.html).
//
// 1. esbuild bundles tsc's dist/cli.js with every dependency into ONE CommonJS file: Node 24's SEA
//    runs a single CommonJS script (its main cannot be an ES module or load files from disk), so the
//    lazy `import()`s of bin/kubestrap.js's bundle become inlined modules here.
// 2. templates/, the .proto files and package.json become SEA assets under their package-relative
//    names; src/util/package-files.ts reads them from there when `node:sea` says isSea().
// 3. `node --experimental-sea-config` writes the blob (with V8's code cache, so start-up skips
//    compiling the bundle), postject injects it into a copy of `process.execPath`.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = path.join(root, 'dist', 'sea');
const output = path.join(root, 'dist', 'kubestrap');
/** postject's marker in Node's binary (the fuse Node checks to find the blob). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Every file kubestrap reads at run time besides its code; package-files.ts is the reader. */
const ASSETS = [
  'package.json',
  'src/cri/api.proto',
  'src/etcd/rpc.proto',
  ...readdirSync(path.join(root, 'templates'))
    .filter((f) => f.endsWith('.hbs'))
    .map((f) => `templates/${f}`),
];

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const main = path.join(work, 'kubestrap.cjs');
await build({
  absWorkingDir: root,
  // the same launcher as bin/kubestrap.js, minus the compile cache (the blob carries its own)
  stdin: {
    contents: [
      "import { main } from './dist/cli.js';",
      'for (const stream of [process.stdout, process.stderr]) {',
      "  stream.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw err; });",
      '}',
      // process.argv in a SEA is [binary, binary, ...args], like [node, script, ...args]
      'main(process.argv).then((code) => { process.exitCode = code; });',
    ].join('\n'),
    resolveDir: root,
    sourcefile: 'sea-main.mjs',
  },
  outfile: main,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  // nothing reads import.meta.url in the SEA (package-files.ts asks node:sea first), but
  // CommonJS output has no import.meta: give it the binary's own URL rather than undefined
  define: { 'import.meta.url': '__kubestrapSelfUrl' },
  banner: { js: "var __kubestrapSelfUrl = require('node:url').pathToFileURL(process.execPath).href;" },
  logLevel: 'warning',
});

const config = path.join(work, 'sea-config.json');
const blob = path.join(work, 'kubestrap.blob');
writeFileSync(
  config,
  JSON.stringify(
    {
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: Object.fromEntries(ASSETS.map((a) => [a, path.join(root, a)])),
    },
    null,
    2,
  ),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

rmSync(output, { force: true });
copyFileSync(process.execPath, output);
chmodSync(output, 0o755);
try {
  // quiet on success: LIEF warns about Node's unnamed .note sections, harmlessly
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'postject', 'dist', 'cli.js'), output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
    stdio: 'pipe',
  });
} catch (err) {
  process.stderr.write(String(err.stderr ?? err));
  throw new Error('postject could not inject the blob into dist/kubestrap', { cause: err });
}
const mib = (statSync(output).size / 2 ** 20).toFixed(1);
console.log(`dist/kubestrap: ${mib} MiB (Node ${process.version}, ${ASSETS.length} assets)`);
