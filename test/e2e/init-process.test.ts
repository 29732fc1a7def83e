/**
 * `kubestrap init --runtime process` end to end on the real components: init under a temp --rootfs
 * (the harness binaries linked into the rootfs' image directory), then the cluster checks shared
 * with the cri test (node, mirror pods, delete/edit/broken edit, bootstrap token), init again
 * without reset (preflight refuses), reset (nothing left: processes, agent, mounts, ports, files),
 * init once more after the reset, and a final reset.
 * No --ignore-preflight-errors: this machine passes every check (2 CPUs, enough memory, root).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { probeOnce } from '../../src/net/http-probe.js';
import { componentsReady, suiteVersionFlags } from '../support/components.js';
import { stageImageBinaries } from '../support/image-binaries.js';
import { agentPid, APISERVER, buildCli, containerProcess, forceCleanup, INIT_PORTS, kubestrap, leftovers, markedProcesses } from '../support/init-e2e.js';
import { controlPlaneScenario } from '../support/init-scenario.js';
import { waitPortsFree } from '../support/proc.js';

const NODE = 'e2e-process';
const isRoot = process.getuid?.() === 0;

test(
  'kubestrap init --runtime process: control plane, node, mirror pods, edits, token, init twice, reset',
  {
    skip: (!isRoot && 'needs root (fixed ports, bind mounts)') || (!componentsReady() && 'components not prepared: npm run prepare:components'),
    timeout: 20 * 60_000,
  },
  async (t) => {
    t.diagnostic(await buildCli());
    await waitPortsFree([...INIT_PORTS], 120_000);
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-init-process-'));
    t.after(async () => {
      const notes = await forceCleanup(rootfs);
      if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
    });
    const initArgs = [
      'init',
      '--rootfs',
      rootfs,
      '--runtime',
      'process',
      '--apiserver-advertise-address',
      '127.0.0.1',
      '--node-name',
      NODE,
      ...suiteVersionFlags(),
    ];

    await stageImageBinaries(rootfs);
    let t0 = performance.now();
    const init = await kubestrap(initArgs);
    assert.equal(init.code, 0, `init failed:\n${init.stderr}\n${init.stdout}`);
    t.diagnostic(`init took ${Math.round(performance.now() - t0)} ms`);
    assert.match(init.stdout, /\[agent\] Using the process runtime/);
    assert.match(init.stdout, /Your Kubernetes control-plane has initialized successfully!/);

    await controlPlaneScenario(t, {
      rootfs,
      node: NODE,
      initStdout: init.stdout,
      container: async (name) => {
        const p = await containerProcess(rootfs, name);
        return p && { id: String(p.pid), args: p.args };
      },
    });

    // init again without reset: preflight refuses with one clear line per problem, changes nothing
    const running = (await markedProcesses(rootfs)).map((p) => p.pid).sort();
    const again = await kubestrap(initArgs);
    assert.notEqual(again.code, 0, 'a second init must fail');
    assert.match(again.stderr, /preflight/i, again.stderr);
    assert.match(again.stdout + again.stderr, /\[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver\.yaml\]: .*already exists/);
    assert.match(again.stdout + again.stderr, /\[ERROR Port-6443\]: Port 6443 is in use/);
    assert.doesNotMatch(again.stderr, /^\s+at /m, 'no stack trace');
    t.diagnostic(`second init refused:\n${(again.stdout + again.stderr).trim().split('\n').slice(-8).join('\n')}`);
    assert.deepEqual((await markedProcesses(rootfs)).map((p) => p.pid).sort(), running, 'the refused init left the pods alone');

    // reset leaves nothing behind
    const agent = await agentPid(rootfs);
    assert.ok(agent, 'the agent runs');
    t0 = performance.now();
    const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
    assert.equal(reset.code, 0, reset.stderr);
    t.diagnostic(`reset took ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(await leftovers(rootfs), []);

    // init succeeds again after reset
    await stageImageBinaries(rootfs);
    t0 = performance.now();
    const second = await kubestrap(initArgs);
    assert.equal(second.code, 0, `init after reset failed:\n${second.stderr}\n${second.stdout}`);
    t.diagnostic(`init after reset took ${Math.round(performance.now() - t0)} ms`);
    assert.ok(await probeOnce(`${APISERVER}/readyz`), 'the API server is ready');
    const reset2 = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
    assert.equal(reset2.code, 0, reset2.stderr);
    assert.deepEqual(await leftovers(rootfs), []);
  },
);
