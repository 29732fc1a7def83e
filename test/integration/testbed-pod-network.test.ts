/**
 * Pod networking across test bed nodes: with enablePodNetwork() (CNI bridge + host-local on each
 * node's pod CIDR), a pod sandbox on w1 gets an address in w1's pod CIDR, and an etcd container in
 * it is reached over TCP from node w2 through the bed's pod CIDR routes.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { components, componentsReady } from '../support/components.js';
import { enablePodNetwork } from '../support/cni.js';
import { waitFor } from '../support/proc.js';
import { startTestbed, testbedLeftovers } from '../support/testbed.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !componentsReady() ? 'components not prepared (npm run prepare:components)' : false;

test('a pod on w1 gets an address from its pod CIDR and is reached from w2', { skip, timeout: 180_000 }, async (t) => {
  const hadCache = existsSync('/var/lib/cni/results');
  const bed = await startTestbed({ nodes: ['w1', 'w2'], containerd: true, images: ['pause', 'etcd'] });
  try {
    const [w1, w2] = [bed.node('w1'), bed.node('w2')];
    for (const node of bed.nodes) await enablePodNetwork(bed, node);
    const cri = w1.containerd!.cri;
    await waitFor(
      'w1 containerd NetworkReady',
      async () => {
        const { status } = await cri.runtime.status({});
        return status?.conditions.find((c) => c.type === 'NetworkReady')?.status ? true : undefined;
      },
      30_000,
    );
    const sandboxConfig = {
      metadata: { name: 'net-test', uid: randomUUID(), namespace: 'default', attempt: 0 },
      hostname: 'net-test',
      logDirectory: path.join(w1.dir, 'pods', 'net-test'),
      linux: { securityContext: { namespaceOptions: { network: 'POD' as const, pid: 'CONTAINER' as const, ipc: 'POD' as const } } },
    };
    const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig });
    const ip = (await cri.runtime.podSandboxStatus({ podSandboxId })).status?.network?.ip ?? '';
    assert.match(ip, /^198\.19\.0\.\d+$/, `pod IP ${ip} in ${w1.podCidr}`);
    const { containerId } = await cri.runtime.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'etcd', attempt: 0 },
        image: { image: components().images.etcd.ref },
        command: ['etcd'],
        args: ['--data-dir=/tmp/etcd', '--listen-client-urls=http://0.0.0.0:2379', `--advertise-client-urls=http://${ip}:2379`],
        logPath: 'etcd.log',
      },
    });
    await cri.runtime.startContainer({ containerId });
    const script = `fetch('http://${ip}:2379/version').then(async (r) => console.log(r.status, await r.text()), (e) => console.log('ERR', e.cause?.code ?? e.message))`;
    const answer = await waitFor(
      `etcd in the w1 pod (${ip}) from w2`,
      async () => {
        const { stdout } = await w2.exec(process.execPath, ['-e', script]);
        return stdout.startsWith('200 ') ? stdout.trim() : undefined;
      },
      60_000,
      500,
    );
    assert.match(answer, /etcdserver/);
    t.diagnostic(`w2 → pod ${ip} on w1: ${answer}`);
  } finally {
    await bed.stop();
  }
  assert.deepEqual(testbedLeftovers(bed), []);
  assert.ok(!existsSync('/var/lib/cni/results') || hadCache, 'libcni cache dir left');
});
