/**
 * The real kubelet (the suite's version) runs in a test bed node: standalone (no API server), on
 * the node's own containerd, with kubeletTestbedConfig(). A static pod (the pause image) written to
 * its manifest dir gets a running container (CRI ListContainers on that containerd) in a pod cgroup
 * under the node's own cgroup root, and its container goes away when the manifest is deleted.
 * Timings are printed, not asserted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { components, componentsReady } from '../support/components.js';
import { startKubelet } from '../support/kubelet.js';
import { waitFor } from '../support/proc.js';
import { startTestbed, testbedLeftovers } from '../support/testbed.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !componentsReady() ? 'components not prepared (npm run prepare:components)' : false;

test('standalone kubelet runs a static pod on the node containerd and removes it', { skip, timeout: 300_000 }, async (t) => {
  const hadBefore = new Set(['/var/lib/kubelet/device-plugins/kubelet.sock', '/var/log/containers'].filter((p) => existsSync(p)));
  const bed = await startTestbed({ nodes: ['n1'], containerd: true, images: ['pause'] });
  try {
    const node = bed.node('n1');
    const cri = node.containerd!.cri;
    const t0 = Date.now();
    const kubelet = await startKubelet(bed, node);
    await waitFor(
      `kubelet healthz on ${node.name} (log: ${kubelet.proc.logFile})`,
      async () => {
        if (!kubelet.proc.running()) throw new Error(`kubelet exited: ${JSON.stringify(await kubelet.proc.exited)}; see ${kubelet.proc.logFile}`);
        const { stdout } = await node.exec('node', ['-e', "fetch('http://127.0.0.1:10248/healthz').then(async (r) => console.log(r.status, await r.text()))"]);
        return stdout.trim() === '200 ok' ? true : undefined;
      },
      60_000,
      500,
    );
    t.diagnostic(`kubelet ${components().binaries.kubelet.version} healthy in ${Date.now() - t0} ms`);

    const manifest = path.join(kubelet.paths.staticPodPath, 'pause.yaml');
    const podName = `static-pause-${node.name}`;
    const containersOfPod = async () => (await cri.runtime.listContainers({ filter: { labelSelector: { 'io.kubernetes.pod.name': podName } } })).containers;
    const t1 = Date.now();
    await writeFile(
      manifest,
      `apiVersion: v1
kind: Pod
metadata:
  name: static-pause
  namespace: default
spec:
  hostNetwork: true
  containers:
  - name: pause
    image: ${components().images.pause.ref}
    imagePullPolicy: Never
`,
    );
    const running = await waitFor(
      `container of ${podName} RUNNING (log: ${kubelet.proc.logFile})`,
      async () => (await containersOfPod()).find((c) => c.metadata?.name === 'pause' && c.state === 'CONTAINER_RUNNING'),
      120_000,
      200,
    );
    const tRunning = Date.now() - t1;
    assert.equal(running.labels['io.kubernetes.pod.namespace'], 'default');
    // the pod's cgroup is under the node's own root, not the machine's /kubepods
    const podUid = running.labels['io.kubernetes.pod.uid'];
    assert.ok(podUid, 'pod uid label');
    const podCgroup = path.join('/sys/fs/cgroup/memory', node.cgroupName, 'kubepods', 'besteffort', `pod${podUid}`);
    assert.ok(existsSync(podCgroup), `${podCgroup} exists`);

    const t2 = Date.now();
    await rm(manifest);
    await waitFor(
      `container of ${podName} stopped`,
      async () => ((await containersOfPod()).some((c) => c.state === 'CONTAINER_RUNNING') ? undefined : true),
      120_000,
      200,
    );
    const tStopped = Date.now() - t2;
    await waitFor(`container of ${podName} removed`, async () => ((await containersOfPod()).length === 0 ? true : undefined), 180_000, 500);
    const tRemoved = Date.now() - t2;
    const { items } = await cri.runtime.listPodSandbox({ filter: { labelSelector: { 'io.kubernetes.pod.name': podName } } });
    // the kubelet stops the sandbox at once; removing it is the minutely container GC's job
    assert.ok(
      items.every((s) => s.state === 'SANDBOX_NOTREADY'),
      JSON.stringify(items.map((s) => s.state)),
    );
    t.diagnostic(
      `static pod: manifest → RUNNING ${tRunning} ms; manifest deleted → container stopped ${tStopped} ms, removed ${tRemoved} ms; ` +
        `sandboxes left (stopped, for the GC): ${items.length}`,
    );
  } finally {
    await bed.stop();
  }
  assert.deepEqual(testbedLeftovers(bed), []);
  // what the kubelet hard-codes on the host is gone too (it did not exist before on this machine)
  for (const p of ['/var/lib/kubelet/device-plugins/kubelet.sock', '/var/log/containers']) assert.ok(!existsSync(p) || hadBefore.has(p), `${p} left`);
});
