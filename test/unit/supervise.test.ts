import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { supervise } from '../../src/host/supervise.js';

describe('supervise', () => {
  it('restarts a command that exits, and on SIGTERM stops it and removes the child pid file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'supervise-'));
    const pidFile = path.join(dir, 'child.pid');
    const counter = path.join(dir, 'runs');
    const lines: string[] = [];
    // exits at once twice, then stays up
    const script = `echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 3 ] && exec sleep 60; exit 3`;
    const done = supervise({ command: 'sh', args: ['-c', script], childPidFile: pidFile, backoffMs: 10, maxBackoffMs: 20, log: (l) => lines.push(l) });
    for (let i = 0; i < 200 && !(existsSync(counter) && readFileSync(counter, 'utf8').split('\n').length > 3); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(pidFile));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.emit('SIGTERM');
    await done;
    assert.equal(existsSync(pidFile), false);
    assert.throws(() => process.kill(pid, 0));
    assert.equal(lines.filter((l) => l.includes('restarting')).length, 2, lines.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  });
});
