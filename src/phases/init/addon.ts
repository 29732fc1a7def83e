/**
 * kubeadm's addon phase: `addon/coredns` and `addon/kube-proxy` create kubeadm's objects through the
 * API server (src/kube/addons), each with kubeadm's retries; a dry run prints every object as
 * kubeadm's dry-run client does. Skipping a sub-phase disables the addon in the stored
 * ClusterConfiguration (src/config/addons.ts), as kubeadm does.
 *
 * The one deviation from kubeadm's objects: CoreDNS and kube-proxy keep off Nodes labelled
 * LABEL_STATIC_PODS_ONLY. Such a node runs kubestrap's agent, which runs static pods only, so a
 * pod bound there would never start; without the label the objects are kubeadm's.
 */
import { LABEL_STATIC_PODS_ONLY } from '../../agent/index.js';
import { kubeProxyComponentConfig } from '../../config/componentconfig/kube-proxy.js';
import { COREDNS_NAME, COREDNS_REPLICAS, corednsObjects, DNS_SELECTOR } from '../../kube/addons/coredns.js';
import { kubeProxyObjects } from '../../kube/addons/kube-proxy.js';
import { applyObject, resourceOf, type KubeObject } from '../../kube/apply.js';
import type { KubeClient } from '../../kube/client.js';
import { isNotFound } from '../../kube/errors.js';
import { withRetry } from '../../kube/retry.js';
import { proxyEnvVars } from '../../manifests/env.js';
import { goYaml } from '../../util/go-format.js';
import type { AdminClientData } from '../data.js';
import type { Phase } from '../runner.js';

const placement = { avoidNodeLabel: LABEL_STATIC_PODS_ONLY };

/** What kubeadm's dry-run client prints for a create: the action, then the object as YAML. */
function printCreate(ctx: AdminClientData, obj: KubeObject): void {
  const { resource, groupVersion } = resourceOf(obj);
  ctx.out.line('dryrun', `Would perform action CREATE on resource "${resource}" in API group "${groupVersion}"`);
  ctx.out.line('dryrun', 'Attached object:');
  ctx.out.text(`${goYaml(obj)}\n`);
}

/** Creates or updates each object in order (printed instead in a dry run); retries as kubeadm. */
async function applyAll(ctx: AdminClientData, c: KubeClient | undefined, objects: readonly KubeObject[]): Promise<void> {
  for (const obj of objects) {
    if (!c) {
      printCreate(ctx, obj);
      continue;
    }
    await withRetry(() => applyObject(c, obj), {
      timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall,
      what: `creating ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`,
    });
  }
}

/** kubeadm's deployedDNSReplicas: a re-run keeps the replica count someone scaled CoreDNS to. */
async function deployedReplicas(c: KubeClient): Promise<number> {
  const selector = Object.entries(DNS_SELECTOR).map(([k, v]) => `${k}=${v}`);
  const list = await c.apps.listNamespacedDeployment({ namespace: 'kube-system', labelSelector: selector.join(',') });
  return list.items[0]?.spec?.replicas ?? COREDNS_REPLICAS;
}

/** kubeadm keeps a Corefile that differs from its default (a user's edit) instead of overwriting it. */
async function keepEditedCorefile(c: KubeClient, objects: KubeObject[]): Promise<KubeObject[]> {
  const ours = objects.find((o) => o.kind === 'ConfigMap');
  const existing = await c.core.readNamespacedConfigMap({ name: COREDNS_NAME, namespace: 'kube-system' }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  const edited = existing?.data?.Corefile !== undefined && existing.data.Corefile !== ours?.data?.Corefile;
  return edited ? objects.filter((o) => o !== ours) : objects;
}

const corednsSub: Phase<AdminClientData> = {
  name: 'coredns',
  help: 'Install the CoreDNS addon to a Kubernetes cluster',
  description:
    'Install the CoreDNS addon components via the API server.\nPlease note that although the DNS server is deployed, it will not be scheduled until CNI is installed.',
  run: async (ctx) => {
    const c = ctx.dryRun ? undefined : await ctx.adminClient();
    const timeoutMs = ctx.config.timeoutsMs.kubernetesAPICall;
    const replicas = c ? await withRetry(() => deployedReplicas(c), { timeoutMs, what: 'reading the CoreDNS Deployment' }) : COREDNS_REPLICAS;
    let objects = corednsObjects(ctx.config, { ...placement, replicas });
    if (c) {
      const all = objects;
      objects = await withRetry(() => keepEditedCorefile(c, all), { timeoutMs, what: 'reading the CoreDNS ConfigMap' });
    }
    await applyAll(ctx, c, objects);
    ctx.out.line('addons', 'Applied essential addon: CoreDNS');
  },
};

const kubeProxySub: Phase<AdminClientData> = {
  name: 'kube-proxy',
  help: 'Install the kube-proxy addon to a Kubernetes cluster',
  description: 'Install the kube-proxy addon components via the API server.',
  run: async (ctx) => {
    const c = ctx.dryRun ? undefined : await ctx.adminClient();
    const objects = kubeProxyObjects(ctx.config, {
      ...placement,
      componentConfig: kubeProxyComponentConfig(ctx.config),
      // kubeadm leaves a user-supplied KubeProxyConfiguration unsigned
      userSupplied: ctx.config.componentConfigs.kubeProxy !== undefined,
      env: proxyEnvVars(process.env),
    });
    await applyAll(ctx, c, objects);
    ctx.out.line('addons', 'Applied essential addon: kube-proxy');
  },
};

export const addonPhase: Phase<AdminClientData> = {
  name: 'addon',
  help: 'Install required addons for passing conformance tests',
  phases: [corednsSub, kubeProxySub],
};
