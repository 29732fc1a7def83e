/**
 * `node:http`, loaded on first use with `require()`. Not `await import('node:http')`: an ES import
 * of a built-in builds its module facade, which reads every export, lazy getters included, so
 * node:http's WebSocket and fetch pull in undici — 5.7 MiB more RSS in a `--lite-mode` process
 * (56.1 against 50.4 MiB beside node:https) and ≈ 20 ms of start-up. A static `import` is fine in
 * dist/bundle (scripts/bundle.mjs turns it into require()), but not in modules whose chunk every
 * command loads: they take it here, when they need it.
 */
import type * as Http from 'node:http';
import { createRequire } from 'node:module';

let http: typeof Http | undefined;

export function nodeHttp(): typeof Http {
  http ??= createRequire(import.meta.url)('node:http') as typeof Http;
  return http;
}
