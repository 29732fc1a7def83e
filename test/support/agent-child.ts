/**
 * For tests that run the real `kubestrap agent` as a child process (from src/, through tsx) and
 * find its pods' processes: `sleep <token>` with a token unique to the run names them in /proc.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_SOURCE_ERROR } from '../../src/agent/annotations.js';
import { waitFor } from './proc.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LAUNCH = `import { main } from ${JSON.stringify(path.join(REPO, 'src/cli.ts'))};
process.exitCode = await main(['node', 'kubestrap', ...process.argv.slice(1)]);`;
/** `node ...NODE_ARGS agent ...` runs the CLI from the sources. */
export const NODE_ARGS = ['--import', 'tsx', '--input-type=module', '-e', LAUNCH];

/** PIDs of `sleep <token>` processes. */
export function sleepers(token: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (path.basename(argv[0] ?? '') === 'sleep' && argv[1] === token) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Kills the `sleep <token>` processes of these tokens (only the test's own). */
export function killSleepers(tokens: readonly string[]): void {
  for (const t of tokens) {
    for (const pid of sleepers(t)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until the agent's /pods shows `name` with a source error (its manifest is broken now); returns that pod. */
export function waitSourceError(pod: (name: string) => Promise<V1Pod | undefined>, name: string): Promise<V1Pod> {
  return waitFor(
    `source error on ${name}`,
    async () => {
      const x = await pod(name);
      return x?.metadata?.annotations?.[ANNOTATION_SOURCE_ERROR] ? x : undefined;
    },
    10_000,
    20,
  );
}

/** The source error /pods shows on a pod. */
export const sourceError = (p: V1Pod): string | undefined => p.metadata?.annotations?.[ANNOTATION_SOURCE_ERROR];
