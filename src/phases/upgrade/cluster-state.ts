/**
 * What `upgrade plan` reads from the cluster (kubeadm's VersionGetter, offline): the
 * ClusterConfiguration of kube-system/kubeadm-config, the control-plane versions per node from
 * the mirror pods' image tags (label `component=<name>`, as kubeadm's ComponentVersions), the
 * nodes' kubelet versions, the kube-proxy and CoreDNS images, and the component-config ConfigMaps.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_STATIC_PODS_ONLY } from '../../agent/index.js';
import { isLoopbackIP } from '../../config/net.js';
import type { ClusterConfiguration } from '../../config/types.js';
import { parseImage } from '../../images/binary.js';
import type { KubeClient } from '../../kube/client.js';
import { isNotFound } from '../../kube/errors.js';
import { parse } from 'yaml';
import { PLAN_COMPONENTS, type ClusterState, type NodeVersion, type PlanComponent } from './data.js';

/** kubeadm's known component configs: group, the ConfigMap and key holding it, the version it writes. */
const COMPONENT_CONFIGS = [
  { group: 'kubeproxy.config.k8s.io', configMap: 'kube-proxy', key: 'config.conf', preferred: 'v1alpha1' },
  { group: 'kubelet.config.k8s.io', configMap: 'kubelet-config', key: 'kubelet', preferred: 'v1beta1' },
] as const;

const tagOf = (image: string | undefined): string => (image ? parseImage(image).tag : '');

function advertiseAddress(pod: V1Pod): string | undefined {
  const command = [...(pod.spec?.containers[0]?.command ?? []), ...(pod.spec?.containers[0]?.args ?? [])];
  if (command.includes('--endpoint-reconciler-type=none')) return undefined;
  return command.find((a) => a.startsWith('--advertise-address='))?.slice('--advertise-address='.length);
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readClusterState(client: KubeClient, config: ClusterConfiguration): Promise<ClusterState> {
  const { core, apps } = client;
  const pods = await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'tier=control-plane' });
  const components = Object.fromEntries(PLAN_COMPONENTS.map((c) => [c, [] as NodeVersion[]])) as Record<PlanComponent, NodeVersion[]>;
  const loopbackAdvertise: NodeVersion[] = [];
  for (const pod of pods.items) {
    const name = pod.metadata?.labels?.component as PlanComponent | undefined;
    if (!name || !(PLAN_COMPONENTS as readonly string[]).includes(name)) continue;
    const node = pod.spec?.nodeName ?? '';
    components[name].push({ node, version: tagOf(pod.spec?.containers[0]?.image) });
    const address = name === 'kube-apiserver' ? advertiseAddress(pod) : undefined;
    if (address !== undefined && isLoopbackIP(address)) loopbackAdvertise.push({ node, version: address });
  }
  for (const list of Object.values(components)) list.sort((a, b) => a.node.localeCompare(b.node));

  const nodes = await core.listNode();
  const kubelets: NodeVersion[] = [];
  const agentNodes: string[] = [];
  for (const n of nodes.items) {
    const node = n.metadata?.name ?? '';
    if (n.metadata?.labels?.[LABEL_STATIC_PODS_ONLY] !== undefined) agentNodes.push(node);
    else kubelets.push({ node, version: n.status?.nodeInfo?.kubeletVersion ?? '' });
  }

  const proxy = await orUndefined(apps.readNamespacedDaemonSet({ name: 'kube-proxy', namespace: 'kube-system' }));
  const dns = await orUndefined(apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' }));
  const componentConfigs: ClusterState['componentConfigs'] = [];
  for (const cc of COMPONENT_CONFIGS) {
    const cm = await orUndefined(core.readNamespacedConfigMap({ name: cc.configMap, namespace: 'kube-system' }));
    const text = cm?.data?.[cc.key];
    const apiVersion = text ? String((parse(text) as { apiVersion?: unknown } | null)?.apiVersion ?? '') : '';
    componentConfigs.push({ group: cc.group, current: apiVersion.split('/')[1] ?? '', preferred: cc.preferred });
  }
  return {
    configVersion: config.kubernetesVersion,
    externalEtcd: config.etcd.external !== undefined,
    components,
    kubelets: kubelets.sort((a, b) => a.node.localeCompare(b.node)),
    agentNodes: agentNodes.sort(),
    kubeProxyVersion: proxy ? tagOf(proxy.spec?.template.spec?.containers[0]?.image) : undefined,
    dnsVersion: dns ? tagOf(dns.spec?.template.spec?.containers.find((c) => c.name === 'coredns')?.image) : undefined,
    loopbackAdvertise,
    componentConfigs,
  };
}
