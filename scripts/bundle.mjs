// Bundles the compiled CLI (dist/cli.js, from tsc) into dist/bundle/ with esbuild.
//
// Why: Node 20 has no compile cache, and resolving, reading and linking ≈ 400 ES/CommonJS modules
// one file at a time was most of `kubestrap init`'s first second (and ≈ 0.5 s of the agent's
// @kubernetes/client-node load, right when the API server comes up). A few larger chunks load in
// about half the time. Lazy `import()`s stay lazy: each becomes its own chunk.
//
// The chunks sit two directories below the package root, like dist/<dir>/*.js, so the
// `new URL('../../…', import.meta.url)` lookups (templates/, package.json, bin/, src/cri/api.proto)
// find the same files as from the tsc output.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `node scripts/bundle.mjs [ROOT]`: ROOT is a package tree with dist/cli.js (default: this repo;
// bench/lib/cli.ts builds a private one, so benches run what `npm run build` makes)
const root = process.argv[2] ? `${path.resolve(process.argv[2])}/` : fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

// Node built-ins are loaded with require(), not `import`: an ES import of a built-in builds its ES
// module facade, which reads every export, lazy getters included — `node:http` then loads undici
// (its WebSocket export), http2, webstreams and perf_hooks, `node:process` the diagnostic report,
// `node:util` parseArgs and diff: 5 MiB of RSS for an idle agent that uses none of them.
// esbuild's CommonJS interop reads a named import at its use instead.
// The interop copies a module's properties as getters, reading each one's descriptor; `node:util`
// computes parseArgs, diff and setTraceSigInt (worker_threads) on that read, so its stand-in
// inherits from it instead: properties are found when used.
const LAZY_DESCRIPTORS = new Set(['util', 'node:util']);
const standIn = (id) => `module.exports = ${LAZY_DESCRIPTORS.has(id) ? 'Object.create(' : '('}require(${JSON.stringify(id)}));`;
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      // an `await import('node:x')` stays Node's own: the stand-in is CommonJS, and esbuild gives a
      // dynamically imported CommonJS chunk a default export only (http.request would be undefined).
      // src/ loads built-ins lazily with require() instead (src/util/node-http.ts): the ES facade costs RSS
      if (args.kind === 'dynamic-import') return { path: args.path, external: true };
      // the require() in the stand-in below is the real one
      return args.namespace === 'builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: standIn(args.path), loader: 'js' }));
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { kubestrap: 'dist/cli.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // protobufjs requires files by computed names; only the CRI and etcd clients load them
  external: ['@grpc/grpc-js', 'protobufjs'],
  // CommonJS dependencies call require() for Node built-ins, which ES module output does not have
  banner: { js: "import { createRequire as __kubestrapRequire } from 'node:module'; const require = __kubestrapRequire(import.meta.url);" },
  plugins: [builtinsByRequire],
  sourcemap: 'linked',
  logLevel: 'warning',
});
