/**
 * Benches that cannot silently break: every `bench/` script runs in its quick mode (BENCH_QUICK=1:
 * one trial, small sizes) to its last line. No figure is asserted; a bench that no longer builds,
 * starts or finishes fails here instead of on a user's clean clone. One at a time: bench:init and
 * bench:agent use the fixed control-plane ports and the private containerd.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;

/** Each bench and the name of the line it ends with (its last figure). */
const BENCHES: readonly { script: string; last: string; root?: boolean }[] = [
  { script: 'pki.ts', last: 'pki-vs-kubeadm-ratio', root: true },
  { script: 'init.ts', last: 'init-overhead-ratio', root: true },
  { script: 'agent.ts', last: 'agent-relist-ms-1000-manifests', root: true },
  { script: 'join.ts', last: 'join-ratio', root: true },
  { script: 'upgrade.ts', last: 'upgrade-downtime-ratio', root: true },
];

function run(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', script)], {
      cwd: repo,
      env: { ...process.env, BENCH_QUICK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // a bench that hangs is broken too; SIGINT lets it run its own cleanup first
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
    }, 8 * 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('every bench/ script is listed here', () => {
  const scripts = readdirSync(path.join(repo, 'bench')).filter((f) => f.endsWith('.ts'));
  assert.deepEqual(scripts.sort(), BENCHES.map((b) => b.script).sort());
});

for (const bench of BENCHES) {
  test(`bench/${bench.script} runs to its last line in quick mode`, { skip: bench.root && !isRoot ? 'needs root' : false, timeout: 10 * 60_000 }, async () => {
    const { code, stdout, stderr } = await run(bench.script);
    const lines = stdout.trimEnd().split('\n');
    const tail = `${lines.slice(-15).join('\n')}\n--- stderr ---\n${stderr.slice(-3000)}`;
    assert.equal(code, 0, `exit ${code}\n${tail}`);
    assert.match(lines.at(-1) ?? '', new RegExp(`^${bench.last}: `), tail);
  });
}
