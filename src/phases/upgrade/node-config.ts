/**
 * kubeadm's FetchInitConfigurationFromCluster for an upgrade, read from this node instead of the API
 * where the API may be down: the ClusterConfiguration is the cluster's (kube-system/kubeadm-config),
 * the node's own part comes from what init wrote here — the node name and CRI endpoint from the
 * agent's flags file, the advertise address and port from kube-apiserver's manifest annotation
 * (kubeadm's kube-apiserver.advertise-address.endpoint), the pull policy from its container. The
 * target version replaces kubernetesVersion; no bootstrap token is made (the upgrade creates none).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { argValue, readAgentArgs } from '../../agent/index.js';
import type { LoadedConfig } from '../../config/load.js';
import { deriveConfig, documentsFrom } from '../../config/resolve.js';
import { validateConfig } from '../../config/validate.js';
import { resolveKubernetesVersion } from '../../config/versions.js';
import type { ComponentConfigs, ResolvedConfig } from '../../config/types.js';
import { defaultRouteIPv4, splitHostPort } from '../../config/net.js';
import type { Host } from '../../host/host.js';
import type { KubeClient } from '../../kube/client.js';
import { COMPONENT_CONFIG_HASH_ANNOTATION } from '../../kube/configmap.js';
import { isNotFound } from '../../kube/errors.js';
import { KUBELET_PATHS, MANIFESTS_DIR } from '../../constants.js';
import { defaultNodeName } from '../../config/defaults.js';

export const ADVERTISE_ANNOTATION = 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint';

export interface NodeLocal {
  nodeName: string;
  criSocket?: string;
  /** Only on control-plane nodes (from kube-apiserver's manifest). */
  advertiseAddress?: string;
  bindPort?: number;
  imagePullPolicy?: string;
}

/** What init or join left on this node about itself. */
export async function readNodeLocal(host: Host): Promise<NodeLocal> {
  const args = await readAgentArgs(host);
  // a node with a kubelet instead of the agent: kubeadm-flags.env's --hostname-override, else the host name
  const kubeletFlags = (await host.readOptional(KUBELET_PATHS.flagsEnv))?.toString('utf8');
  const override = /--hostname-override=([^\s"]+)/.exec(kubeletFlags ?? '')?.[1];
  const nodeName = (args && argValue(args, 'node-name')) ?? override ?? defaultNodeName();
  const out: NodeLocal = { nodeName, criSocket: args && argValue(args, 'container-runtime-endpoint') };
  const text = (await host.readOptional(`${MANIFESTS_DIR}/kube-apiserver.yaml`))?.toString('utf8');
  if (text !== undefined) {
    const pod = parse(text) as V1Pod;
    const endpoint = pod.metadata?.annotations?.[ADVERTISE_ANNOTATION];
    if (endpoint) {
      const { host: address, port } = splitHostPort(endpoint);
      out.advertiseAddress = address;
      out.bindPort = port === undefined ? undefined : Number(port);
    }
    out.imagePullPolicy = pod.spec?.containers[0]?.imagePullPolicy;
  }
  return out;
}

/** The config this node's control plane is rendered with at `target` (validated as init validates). */
export function upgradeConfig(loaded: LoadedConfig, local: NodeLocal, target: string, componentConfigs: ComponentConfigs = {}): ResolvedConfig {
  const { init, cluster } = documentsFrom({ ...loaded, init: undefined });
  cluster.kubernetesVersion = resolveKubernetesVersion(target);
  init.nodeRegistration.name = local.nodeName;
  if (local.criSocket) init.nodeRegistration.criSocket = local.criSocket;
  // a worker has no kube-apiserver to read it from: kubeadm's dynamic defaults (SetAPIEndpointDynamicDefaults)
  // take the default route's address, which nothing on a worker uses
  init.localAPIEndpoint.advertiseAddress = local.advertiseAddress ?? defaultRouteIPv4();
  if (local.bindPort) init.localAPIEndpoint.bindPort = local.bindPort;
  if (local.imagePullPolicy) init.nodeRegistration.imagePullPolicy = local.imagePullPolicy as typeof init.nodeRegistration.imagePullPolicy;
  init.bootstrapTokens = [];
  validateConfig(init, cluster, (field) => ({
    file: field.startsWith('nodeRegistration') || field.startsWith('localAPIEndpoint') ? 'this node' : loaded.file,
    field,
  }));
  return deriveConfig(init, cluster, undefined, componentConfigs);
}

/** The component-config ConfigMaps: key of the document in each, and where ComponentConfigs keeps it. */
const COMPONENT_CONFIG_MAPS = [
  { name: 'kubelet-config', key: 'kubelet', field: 'kubelet' },
  { name: 'kube-proxy', key: 'config.conf', field: 'kubeProxy' },
] as const;

/**
 * kubeadm's upgrade keeps a component config the user gave (an unsigned ConfigMap) and regenerates
 * one its defaults made (signed with the component-config hash) for the new version.
 */
export async function userComponentConfigs(client: KubeClient): Promise<ComponentConfigs> {
  const out: ComponentConfigs = {};
  for (const c of COMPONENT_CONFIG_MAPS) {
    const cm = await client.core.readNamespacedConfigMap({ name: c.name, namespace: 'kube-system' }).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    const text = cm?.data?.[c.key];
    if (!text || cm?.metadata?.annotations?.[COMPONENT_CONFIG_HASH_ANNOTATION] !== undefined) continue;
    const doc = parse(text) as Record<string, unknown> | null;
    if (doc) out[c.field] = doc;
  }
  return out;
}
