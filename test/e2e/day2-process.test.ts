/**
 * Day-2 operations on a `kubestrap init --runtime process` cluster (test/support/day2-scenario.ts):
 * certs renew with the agent restarting exactly the pods using renewed files, kubectl logs through
 * the agent's kubelet API, 401/403, exec refused, bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { componentsReady } from '../support/components.js';
import { day2Scenario } from '../support/day2-scenario.js';
import { stageImageBinaries } from '../support/image-binaries.js';
import { buildCli, containerProcess, forceCleanup, INIT_PORTS, kubestrap, leftovers } from '../support/init-e2e.js';
import { waitPortsFree } from '../support/proc.js';

const NODE = 'day2-process';
const isRoot = process.getuid?.() === 0;

test(
  'day 2 on the process runtime: certs renew restarts exactly what it must, kubectl logs, authn/authz',
  {
    skip: (!isRoot && 'needs root (fixed ports, bind mounts)') || (!componentsReady() && 'components not prepared: npm run prepare:components'),
    timeout: 20 * 60_000,
  },
  async (t) => {
    t.diagnostic(await buildCli());
    await waitPortsFree([...INIT_PORTS], 120_000);
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-day2-process-'));
    t.after(async () => {
      const notes = await forceCleanup(rootfs);
      if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
    });
    await stageImageBinaries(rootfs);
    const init = await kubestrap(['init', '--rootfs', rootfs, '--runtime', 'process', '--apiserver-advertise-address', '127.0.0.1', '--node-name', NODE]);
    assert.equal(init.code, 0, `init failed:\n${init.stderr}\n${init.stdout}`);
    await day2Scenario(t, {
      rootfs,
      node: NODE,
      container: async (name) => {
        const p = await containerProcess(rootfs, name);
        return p && { id: String(p.pid) };
      },
      // one process (a shell loop would fork a new sleep every second)
      extra: { image: 'busybox', command: ['sleep', '100000'] },
    });
    const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.deepEqual(await leftovers(rootfs), []);
  },
);
