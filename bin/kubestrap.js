#!/usr/bin/env node
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm ci` (the prepare script).
import { main } from '../dist/bundle/kubestrap.js';

// `kubestrap ... | head` closes the pipe early: that is the reader's choice, not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

process.exitCode = await main(process.argv);
