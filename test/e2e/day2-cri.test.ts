/**
 * Day-2 operations on a `kubestrap init --runtime cri` cluster (private containerd), the same checks
 * as the process test (test/support/day2-scenario.ts): containers are identified by CRI id.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { components } from '../support/components.js';
import { runningContainer } from '../support/cri-containers.js';
import { day2Scenario } from '../support/day2-scenario.js';
import { kubestrap, leftovers } from '../support/init-e2e.js';
import { criInitFixture, criInitSkipReason } from '../support/cri-init-fixture.js';

const NODE = 'day2-cri';

test(
  'day 2 on the cri runtime: certs renew restarts exactly what it must, kubectl logs, authn/authz',
  {
    skip: criInitSkipReason(),
    timeout: 20 * 60_000,
  },
  async (t) => {
    const { ctrd, rootfs } = await criInitFixture(t, 'day2-cri');
    const init = await kubestrap([
      'init',
      '--rootfs',
      rootfs,
      '--runtime',
      'cri',
      '--cri-socket',
      ctrd.endpoint,
      '--apiserver-advertise-address',
      '127.0.0.1',
      '--node-name',
      NODE,
    ]);
    assert.equal(init.code, 0, `init failed:\n${init.stderr}\n${init.stdout}`);
    await day2Scenario(t, {
      rootfs,
      node: NODE,
      container: async (name) => {
        const c = await runningContainer(ctrd, NODE, name);
        return c && { id: c.id };
      },
      // the sandbox image runs without a command; it mounts nothing
      extra: { image: components().images.pause.ref },
    });
    const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.deepEqual(await leftovers(rootfs), []);
  },
);
