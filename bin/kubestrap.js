#!/usr/bin/env node
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm ci` (the prepare script).
import module from 'node:module';

// Node ≥ 22: V8 keeps the bundle's compiled code on disk (in the OS temp dir), so every later start
// skips parsing and compiling it — most of a short command's start-up, and the agent's.
module.enableCompileCache?.();

// `kubestrap ... | head` closes the pipe early: that is the reader's choice, not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// Imported after the cache is on, so the bundle itself is compiled through it.
const { main } = await import('../dist/bundle/kubestrap.js');
process.exitCode = await main(process.argv);
