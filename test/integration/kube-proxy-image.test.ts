/**
 * The harness' kube-proxy image programs rules: on a test bed node's containerd, a host-network,
 * privileged kube-proxy container (as the addon's DaemonSet runs it) with the configuration the
 * addon phase stored in the kube-proxy ConfigMap, against a real control plane (etcd +
 * kube-apiserver), runs in iptables mode and writes the Services' rules with the image's own
 * iptables-restore: the node's nat table then has KUBE-SERVICES with the `kubernetes` Service's
 * ClusterIP, and the filter table rejects kube-dns (no endpoints: CoreDNS does not run here).
 *
 * What only the test bed needs, beside the stored config (each also for the multi-node e2e):
 *  - `conntrack.maxPerCore: 0`: nf_conntrack_max is writable only from the initial network
 *    namespace, and kube-proxy exits when it cannot raise it; 0 leaves it alone;
 *  - a kubeconfig with the control plane's client certificate for the bridge address instead of
 *    the service account's token (no kubelet here mounts one), TLS unverified (the serving
 *    certificate does not name the bridge address).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { kubeClient } from '../../src/kube/client.js';
import { memoryPrinter } from '../../src/output.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { Runner } from '../../src/phases/runner.js';
import { startControlPlane } from '../support/apiserver.js';
import { components, componentsReady } from '../support/components.js';
import { runHostNetworkContainer } from '../support/host-network-container.js';
import { waitFor } from '../support/proc.js';
import { startTestbed, testbedLeftovers } from '../support/testbed.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !componentsReady() ? 'components not prepared (npm run prepare:components)' : false;

test('the kube-proxy image programs iptables rules from the addon’s config', { skip, timeout: 240_000 }, async (t) => {
  const cp = await startControlPlane();
  try {
    cp.ctx.out = memoryPrinter();
    await new Runner(INIT_PHASES).run(cp.ctx, { only: 'addon' });
    const admin = await kubeClient(cp.kubeconfig('admin'), cp.host);
    const stored = await admin.core.readNamespacedConfigMap({ name: 'kube-proxy', namespace: 'kube-system' });
    const bed = await startTestbed({ nodes: ['w1'], containerd: true, images: ['pause', 'kube-proxy'] });
    try {
      const w1 = bed.node('w1');
      const confDir = path.join(w1.dir, 'kube-proxy');
      await mkdir(confDir, { recursive: true });
      const conf = parse(stored.data!['config.conf']!) as Record<string, unknown>;
      conf.conntrack = { maxPerCore: 0 };
      await writeFile(path.join(confDir, 'config.conf'), stringify(conf));
      const kubeconfig = parse(await readFile(cp.host.path(cp.kubeconfig('admin')), 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
      kubeconfig.clusters[0]!.cluster = { server: `https://${bed.bridgeIp}:${cp.ports.apiserver}`, 'insecure-skip-tls-verify': true };
      await writeFile(path.join(confDir, 'kubeconfig.conf'), stringify(kubeconfig));
      const lock = path.join(w1.dir, 'xtables.lock');
      await writeFile(lock, '');

      const ds = await admin.apps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: 'kube-system' });
      const container = ds.spec!.template.spec!.containers[0]!;
      assert.equal(container.image, components().images['kube-proxy'].ref);
      const { log } = await runHostNetworkContainer(w1, {
        name: 'kube-proxy',
        image: container.image!,
        // the DaemonSet's command, $(NODE_NAME) expanded as the kubelet would
        command: container.command!.map((a) => a.replace('$(NODE_NAME)', 'w1')),
        mounts: [
          { containerPath: '/var/lib/kube-proxy', hostPath: confDir, readonly: true },
          { containerPath: '/run/xtables.lock', hostPath: lock },
        ],
        securityContext: { privileged: true },
      });
      const rules = await waitFor(
        'kube-proxy rules in w1’s nat and filter tables',
        async () => {
          const { stdout } = await w1.exec('iptables-save', []);
          return /-A KUBE-SERVICES .*-d 10\.96\.0\.1\/32/.test(stdout) && /kube-system\/kube-dns:dns has no endpoints/.test(stdout) ? stdout : undefined;
        },
        90_000,
        500,
      ).catch(async (err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- kube-proxy log:\n${(await log()).split('\n').slice(-30).join('\n')}`);
      });
      assert.match(rules, /^\*nat$/m);
      assert.match(rules, /-A KUBE-SERVICES -d 10\.96\.0\.10\/32 -p udp .*kube-dns:dns has no endpoints.* -j REJECT/);
      const text = await log();
      assert.match(text, /Using iptables Proxier/);
      t.diagnostic(`kube-proxy wrote ${rules.split('\n').filter((l) => l.startsWith('-A KUBE-')).length} KUBE-* rules in w1`);
    } finally {
      await bed.stop();
    }
    assert.deepEqual(testbedLeftovers(bed), []);
  } finally {
    await cp.stop();
  }
});
