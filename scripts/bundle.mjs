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
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `node scripts/bundle.mjs [ROOT]`: ROOT is a package tree with dist/cli.js (default: this repo;
// bench/lib/cli.ts builds a private one, so benches run what `npm run build` makes)
const root = process.argv[2] ? `${path.resolve(process.argv[2])}/` : fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;

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
  // protobufjs (ours and proto-loader's) requires files by computed names; only the CRI and etcd clients load them
  external: ['@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs'],
  // CommonJS dependencies call require() for Node built-ins, which ES module output does not have
  banner: { js: "import { createRequire as __kubestrapRequire } from 'node:module'; const require = __kubestrapRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
