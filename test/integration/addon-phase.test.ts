/**
 * The addon phase against a real control plane (etcd + kube-apiserver from init's manifests):
 * `--skip-phases addon/kube-proxy` creates CoreDNS's objects and none of kube-proxy's (the proxy
 * disabled in the ClusterConfiguration, as kubeadm does); a later `addon` run adds kube-proxy's,
 * updates CoreDNS's in place, keeps the replicas someone scaled CoreDNS to and a Corefile someone
 * edited. The API server's validation and admission (priority classes, the kube-dns ClusterIP)
 * accept every object.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LABEL_STATIC_PODS_ONLY } from '../../src/agent/index.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { COMPONENT_CONFIG_HASH_ANNOTATION } from '../../src/config/componentconfig/hash.js';
import { kubeClient, type KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import { memoryPrinter } from '../../src/output.js';
import { InitData } from '../../src/phases/init/data.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { Runner } from '../../src/phases/runner.js';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { componentsReady } from '../support/components.js';

const NS = 'kube-system';
const runner = new Runner(INIT_PHASES);

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

describe('addon phase on a real control plane', { skip: !componentsReady() && 'components not prepared' }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  const out = memoryPrinter();

  before(async () => {
    cp = await startControlPlane({ flags: { skipPhases: 'addon/kube-proxy' } });
    cp.ctx.out = out;
    // as `kubestrap init` runs it: the skip list is the resolved config's
    await runner.run(cp.ctx, { only: 'addon', skip: cp.config.skipPhases });
    admin = await kubeClient(cp.kubeconfig('admin'), cp.host);
  });

  after(async () => {
    await cp?.stop();
  });

  it("creates CoreDNS's objects, kube-dns on the tenth service IP, off static-pods-only nodes", async () => {
    assert.ok(out.lines.includes('[addons] Applied essential addon: CoreDNS'), out.lines.join('\n'));
    const svc = await admin.core.readNamespacedService({ name: 'kube-dns', namespace: NS });
    assert.equal(svc.spec?.clusterIP, cp.config.dnsServiceIP);
    assert.equal(cp.config.dnsServiceIP, '10.96.0.10');
    const d = await admin.apps.readNamespacedDeployment({ name: 'coredns', namespace: NS });
    assert.equal(d.spec?.replicas, 2);
    const pod = d.spec!.template.spec!;
    assert.equal(pod.priorityClassName, 'system-cluster-critical');
    assert.equal(pod.containers[0]!.image, cp.config.images.coredns);
    // client-node returns model classes: compare their JSON
    assert.deepEqual(JSON.parse(JSON.stringify(pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms)), [
      { matchExpressions: [{ key: LABEL_STATIC_PODS_ONLY, operator: 'DoesNotExist' }] },
    ]);
    await admin.core.readNamespacedConfigMap({ name: 'coredns', namespace: NS });
    await admin.core.readNamespacedServiceAccount({ name: 'coredns', namespace: NS });
    await admin.rbac.readClusterRole({ name: 'system:coredns' });
    await admin.rbac.readClusterRoleBinding({ name: 'system:coredns' });
  });

  it('--skip-phases addon/kube-proxy leaves every kube-proxy object out and disables the proxy', async () => {
    assert.equal(cp.config.cluster.proxy.disabled, true);
    assert.ok(!out.lines.some((l) => l.includes('kube-proxy')), out.lines.join('\n'));
    assert.ok(await gone(() => admin.apps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: NS })), 'DaemonSet');
    assert.ok(await gone(() => admin.core.readNamespacedConfigMap({ name: 'kube-proxy', namespace: NS })), 'ConfigMap');
    assert.ok(await gone(() => admin.core.readNamespacedServiceAccount({ name: 'kube-proxy', namespace: NS })), 'ServiceAccount');
    assert.ok(await gone(() => admin.rbac.readClusterRoleBinding({ name: 'kubeadm:node-proxier' })), 'ClusterRoleBinding');
  });

  it('a later addon run adds kube-proxy and updates CoreDNS in place, keeping its replicas and an edited Corefile', async () => {
    await admin.apps.patchNamespacedDeployment({ name: 'coredns', namespace: NS, body: { spec: { replicas: 3 } } }, admin.mergePatch);
    const edited = '.:53 {\n    errors\n    forward . 198.18.0.1\n}\n';
    await admin.core.patchNamespacedConfigMap({ name: 'coredns', namespace: NS, body: { data: { Corefile: edited } } }, admin.mergePatch);
    const config: ResolvedConfig = { ...cp.config, skipPhases: [], cluster: { ...cp.config.cluster, proxy: { disabled: false } } };
    const again = memoryPrinter();
    const ctx = new InitData({ config, host: cp.host, out: again, dryRun: false, uploadCerts: false });
    await runner.run(ctx, { only: 'addon' });
    assert.deepEqual(
      again.lines.filter((l) => l.startsWith('[addons]')),
      ['[addons] Applied essential addon: CoreDNS', '[addons] Applied essential addon: kube-proxy'],
    );
    const ds = await admin.apps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: NS });
    const pod = ds.spec!.template.spec!;
    assert.equal(pod.containers[0]!.image, `registry.k8s.io/kube-proxy:${cp.config.cluster.kubernetesVersion}`);
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.equal(pod.hostNetwork, true);
    const cm = await admin.core.readNamespacedConfigMap({ name: 'kube-proxy', namespace: NS });
    assert.match(cm.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION] ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.match(cm.data?.['config.conf'] ?? '', /kind: KubeProxyConfiguration/);
    await admin.core.readNamespacedServiceAccount({ name: 'kube-proxy', namespace: NS });
    assert.equal((await admin.rbac.readClusterRoleBinding({ name: 'kubeadm:node-proxier' })).roleRef.name, 'system:node-proxier');
    await admin.rbac.readNamespacedRoleBinding({ name: 'kube-proxy', namespace: NS });
    assert.equal((await admin.apps.readNamespacedDeployment({ name: 'coredns', namespace: NS })).spec?.replicas, 3);
    assert.equal((await admin.core.readNamespacedConfigMap({ name: 'coredns', namespace: NS })).data?.Corefile, edited);
    assert.equal((await admin.core.readNamespacedService({ name: 'kube-dns', namespace: NS })).spec?.clusterIP, '10.96.0.10');
  });
});
