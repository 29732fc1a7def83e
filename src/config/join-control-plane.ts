/**
 * A control-plane join's configuration, as kubeadm's JoinData.InitCfg builds it: the cluster's
 * ClusterConfiguration (the kubeadm-config ConfigMap, read with the bootstrap token) and this node's
 * part from the JoinConfiguration — nodeRegistration, controlPlane.localAPIEndpoint, the certificate
 * key, timeouts — as one ResolvedConfig, so the join reuses init's certs, kubeconfig, control-plane,
 * agent, mark-control-plane and wait phases unchanged. Pure: the text comes in, nothing is read here.
 */
import { ConfigError } from '../errors.js';
import { documentsFrom, deriveConfig } from './resolve.js';
import type { ResolvedJoin } from './join.js';
import { parseConfig } from './load.js';
import type { ResolvedConfig } from './types.js';
import { KUBERNETES_RELEASES, minorOf, resolveKubernetesVersion, SUPPORTED_MINORS_TEXT } from './versions.js';

/** Where the cluster's ClusterConfiguration comes from, for messages. */
export const KUBEADM_CONFIG_SOURCE = 'kube-system/kubeadm-config';

/** kubeadm's refusal when the cluster has no stable address for a second API server to share. */
export const NO_CONTROL_PLANE_ENDPOINT = "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address";

export function controlPlaneJoinConfig(join: ResolvedJoin, clusterConfigurationText: string): ResolvedConfig {
  const cp = join.join.controlPlane;
  if (!cp) throw new Error('controlPlaneJoinConfig: the JoinConfiguration has no controlPlane');
  const loaded = parseConfig(clusterConfigurationText, KUBEADM_CONFIG_SOURCE);
  if (!loaded.cluster)
    throw new ConfigError('has no ClusterConfiguration document', {
      file: KUBEADM_CONFIG_SOURCE,
      hint: 'run "kubestrap init phase upload-config kubeadm" on a control-plane node',
    });
  const { init, cluster } = documentsFrom({ ...loaded, init: undefined });
  cluster.kubernetesVersion = resolveKubernetesVersion(cluster.kubernetesVersion);
  init.nodeRegistration = join.join.nodeRegistration;
  init.localAPIEndpoint = { ...cp.localAPIEndpoint };
  init.certificateKey = cp.certificateKey ?? '';
  init.timeouts = { ...join.join.timeouts };
  init.skipPhases = [...join.skipPhases];
  init.dryRun = join.join.dryRun;
  return deriveConfig(init, cluster, join.configFile, loaded.componentConfigs);
}

/**
 * Version skew of a new control-plane instance (pure): it runs the cluster's ClusterConfiguration
 * version, which must be a row kubestrap deploys, and its minor must be the minor the cluster's API
 * server serves — during an upgrade the stored version and the running servers differ, and a new
 * instance would widen the gap upstream bounds. Undefined when fine, else the refusal.
 */
export function controlPlaneSkewError(configuredVersion: string, servingVersion: string | undefined): string | undefined {
  const configured = minorOf(configuredVersion);
  if (!KUBERNETES_RELEASES.some((r) => r.minor === configured)) {
    return `the cluster's kubernetesVersion ${configuredVersion} is not one kubestrap deploys (${SUPPORTED_MINORS_TEXT}): a new control-plane instance runs the cluster's version, and kubeadm's rule is that it deploys only the versions it supports`;
  }
  if (servingVersion === undefined) return undefined;
  const serving = minorOf(servingVersion);
  if (Number.isNaN(serving) || serving === configured) return undefined;
  return `this control-plane instance would run ${configuredVersion} but the cluster's API server serves ${servingVersion}: a control-plane join must be of the cluster's minor version (version skew policy: "the newest and oldest kube-apiserver instances must be within one minor version"; finish the upgrade with "kubestrap upgrade apply" first)`;
}
