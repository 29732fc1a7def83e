/**
 * `kubestrap init --runtime cri` end to end on a private containerd (its own socket, the harness'
 * OCI images imported into k8s.io): the control plane runs as containers; the cluster checks are
 * the process test's (mirror recreation keeps the container id, an edit makes a new container, a
 * broken manifest keeps the API server's container); reset removes every container and sandbox.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { suiteVersionFlags } from '../support/components.js';
import { runningContainer } from '../support/cri-containers.js';
import { kubectl, kubestrap, leftovers } from '../support/init-e2e.js';
import { controlPlaneScenario } from '../support/init-scenario.js';
import { criInitFixture, criInitSkipReason } from '../support/cri-init-fixture.js';

const NODE = 'e2e-cri';

test(
  'kubestrap init --runtime cri: control plane as containers, node, mirror pods, edits, token, reset',
  {
    skip: criInitSkipReason(),
    timeout: 20 * 60_000,
  },
  async (t) => {
    const { ctrd, rootfs } = await criInitFixture(t, 'init-cri');
    t.diagnostic(`private containerd ${ctrd.versionLine} at ${ctrd.endpoint} (${ctrd.snapshotter})`);

    let t0 = performance.now();
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
      ...suiteVersionFlags(),
    ]);
    assert.equal(init.code, 0, `init failed:\n${init.stderr}\n${init.stdout}`);
    t.diagnostic(`init took ${Math.round(performance.now() - t0)} ms`);
    assert.match(init.stdout, /\[agent\] Using the cri runtime/);
    // containerd 1.x: preflight's kubeadm-format warning, and the agent's own at start
    const outdated = ctrd.majorVersion < 2;
    const warning = /containerd \S+ is out of support; the kubelet drops containerd 1\.x in v1\.38: upgrade to containerd 2\.x/;
    assert.equal(/^\t\[WARNING ContainerRuntimeVersion\]: /m.test(init.stdout) && warning.test(init.stdout), outdated, init.stdout);
    const agentLog = await readFile(path.join(rootfs, 'var/log/kubestrap-agent.log'), 'utf8');
    assert.equal(
      agentLog.split('\n').some((l) => / WARN /.test(l) && warning.test(l)),
      outdated,
      agentLog.slice(0, 4000),
    );

    await controlPlaneScenario(t, { rootfs, node: NODE, initStdout: init.stdout, container: (name) => runningContainer(ctrd, NODE, name) });

    const admin = path.join(rootfs, 'etc/kubernetes/admin.conf');
    const nodeInfo = JSON.parse(await kubectl(admin, ['get', 'node', NODE, '-o', 'jsonpath={.status.nodeInfo}'])) as { containerRuntimeVersion: string };
    assert.match(nodeInfo.containerRuntimeVersion, /^containerd:\/\//);

    t0 = performance.now();
    const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
    assert.equal(reset.code, 0, reset.stderr);
    t.diagnostic(`reset took ${Math.round(performance.now() - t0)} ms`);
    assert.deepEqual(await leftovers(rootfs), []);
    const { containers } = await ctrd.cri.runtime.listContainers({});
    const { items: sandboxes } = await ctrd.cri.runtime.listPodSandbox({});
    assert.deepEqual(
      containers.map((c) => `${c.metadata?.name} ${c.state}`),
      [],
      'no container left',
    );
    assert.deepEqual(
      sandboxes.map((s) => `${s.metadata?.name} ${s.state}`),
      [],
      'no sandbox left',
    );
  },
);
