/**
 * The harness' CoreDNS image serves DNS the way the addon's Deployment runs it: on a test bed
 * node's containerd, the Deployment's container (image, `-conf /etc/coredns/Corefile`, kubeadm's
 * securityContext: every capability dropped but NET_BIND_SERVICE, read-only root filesystem) with a
 * Corefile mounted answers on port 53 and its health and readiness ports. The Corefile has no
 * `kubernetes` plugin (no API server here): the multi-node e2e proves Service names.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { corednsObjects } from '../../src/kube/addons/coredns.js';
import type { KubeObject } from '../../src/kube/apply.js';
import { components, componentsReady } from '../support/components.js';
import { testConfig } from '../support/config-fixture.js';
import { runHostNetworkContainer } from '../support/host-network-container.js';
import { waitFor } from '../support/proc.js';
import { startTestbed, testbedLeftovers } from '../support/testbed.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !componentsReady() ? 'components not prepared (npm run prepare:components)' : false;

const COREFILE = `.:53 {
    errors
    health :8080
    ready :8181
    hosts {
        198.18.7.7 probe.kubestrap.test
    }
}
`;

/** Resolves a name against 127.0.0.1:53 with Node's resolver, from inside the node's namespace. */
const RESOLVE = `const r = new (require('node:dns').promises.Resolver)(); r.setServers(['127.0.0.1']);
r.resolve4('probe.kubestrap.test').then((a) => console.log(a.join(',')), (e) => console.log('ERR', e.code));`;

test('the CoreDNS image answers DNS as the Deployment runs it', { skip, timeout: 180_000 }, async (t) => {
  const deployment = corednsObjects(testConfig(), { replicas: 1 }).find((o): o is Extract<KubeObject, { kind: 'Deployment' }> => o.kind === 'Deployment')!;
  const container = deployment.spec!.template.spec!.containers[0]!;
  assert.equal(container.image, components().images.coredns.ref);
  const bed = await startTestbed({ nodes: ['w1'], containerd: true, images: ['pause', 'coredns'] });
  try {
    const w1 = bed.node('w1');
    const confDir = path.join(w1.dir, 'coredns');
    await mkdir(confDir, { recursive: true });
    await writeFile(path.join(confDir, 'Corefile'), COREFILE);
    const sc = container.securityContext!;
    const { log } = await runHostNetworkContainer(w1, {
      name: 'coredns',
      image: container.image!,
      args: container.args!,
      mounts: [{ containerPath: container.volumeMounts![0]!.mountPath, hostPath: confDir, readonly: true }],
      securityContext: {
        capabilities: { addCapabilities: sc.capabilities!.add!, dropCapabilities: sc.capabilities!.drop! },
        readonlyRootfs: sc.readOnlyRootFilesystem === true,
        noNewPrivs: sc.allowPrivilegeEscalation === false,
      },
    });
    const fetchText = (url: string): string =>
      `fetch('${url}').then(async (r) => console.log(r.status, await r.text()), (e) => console.log('ERR', e.cause?.code ?? e.message))`;
    const ready = await waitFor(
      'CoreDNS /ready on w1',
      async () => {
        const { stdout } = await w1.exec(process.execPath, ['-e', fetchText('http://127.0.0.1:8181/ready')]);
        return stdout.startsWith('200 ') ? stdout.trim() : undefined;
      },
      60_000,
      300,
    ).catch(async (err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- coredns log:\n${(await log()).split('\n').slice(-20).join('\n')}`);
    });
    assert.equal(ready, '200 OK');
    assert.equal((await w1.exec(process.execPath, ['-e', fetchText('http://127.0.0.1:8080/health')])).stdout.trim(), '200 OK');
    assert.equal((await w1.exec(process.execPath, ['-e', RESOLVE])).stdout.trim(), '198.18.7.7');
    assert.match(await log(), /CoreDNS-1\.\d+\.\d+/);
    t.diagnostic(
      `coredns in w1: ${(await log())
        .split('\n')
        .find((l) => l.includes('CoreDNS-'))
        ?.trim()}`,
    );
  } finally {
    await bed.stop();
  }
  assert.deepEqual(testbedLeftovers(bed), []);
});
