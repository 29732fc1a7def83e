#!/usr/bin/env node
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm ci` (the prepare script).
import module from 'node:module';

// V8's code cache on disk (Node 22.1+, in the OS temp dir): compiling the bundle's chunks is ≈ 30 ms
// of every command's start-up (node --cpu-prof of `init phase certs all`); with the cache it is a read.
module.enableCompileCache?.();
const { main } = await import('../dist/bundle/kubestrap.js');

// `kubestrap ... | head` closes the pipe early: that is the reader's choice, not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
