/**
 * The KubeProxyConfiguration kubeadm generates for the kube-proxy addon (componentconfigs/kubeproxy.go
 * Default): bind address by the advertise address's family, the kubeconfig kube-proxy's DaemonSet
 * mounts, the pod range as clusterCIDR, and (v1.37) mode iptables — under the user's document, whose
 * fields win.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../../errors.js';
import type { ResolvedConfig } from '../types.js';
import { releaseFor } from '../versions.js';
import { mergeDocs, recommendationNotes, type Recommendation } from './defaulting.js';
import type { ComponentConfigResult } from './kubelet.js';
import { decodeComponentConfig, type ComponentConfigDoc, type ComponentConfigSpec, type FieldType } from './strict.js';

export const KUBE_PROXY_CONFIGURATION_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KUBE_PROXY_CONFIGURATION_KIND = 'KubeProxyConfiguration';
/** Where kube-proxy's DaemonSet mounts its kubeconfig (from the kube-proxy ConfigMap). */
export const KUBE_PROXY_KUBECONFIG = '/var/lib/kube-proxy/kubeconfig.conf';
const WILDCARDS = { 4: '0.0.0.0', 6: '::' } as const;
/** The modes kube-proxy's validation accepts ("" = its platform default). */
const MODES = ['', 'iptables', 'ipvs', 'nftables', 'kernelspace'];

/** The top-level fields of k8s.io/kube-proxy/config/v1alpha1 KubeProxyConfiguration (v0.37). */
const FIELDS: Readonly<Record<string, FieldType>> = {
  featureGates: 'boolMap',
  clientConnection: 'object',
  logging: 'object',
  hostnameOverride: 'string',
  bindAddress: 'string',
  healthzBindAddress: 'string',
  metricsBindAddress: 'string',
  bindAddressHardFail: 'bool',
  enableProfiling: 'bool',
  showHiddenMetricsForVersion: 'string',
  mode: 'string',
  iptables: 'object',
  ipvs: 'object',
  nftables: 'object',
  winkernel: 'object',
  detectLocalMode: 'string',
  detectLocal: 'object',
  clusterCIDR: 'string',
  nodePortAddresses: 'strings',
  oomScoreAdj: 'int',
  conntrack: 'object',
  configSyncPeriod: 'duration',
  portRange: 'string',
  windowsRunAsService: 'bool',
};

export const KUBE_PROXY_CONFIGURATION: ComponentConfigSpec = {
  apiVersion: KUBE_PROXY_CONFIGURATION_API_VERSION,
  kind: KUBE_PROXY_CONFIGURATION_KIND,
  reference: 'https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/',
  fields: FIELDS,
};

/** A KubeProxyConfiguration document checked strictly, plus the proxy mode kube-proxy would refuse. */
export function validateKubeProxyConfiguration(doc: unknown, file: string): ComponentConfigDoc {
  const out = decodeComponentConfig(doc, KUBE_PROXY_CONFIGURATION, file);
  if (out.mode !== undefined && !MODES.includes(out.mode as string)) {
    throw new ConfigError(`mode ${JSON.stringify(out.mode)} is not a kube-proxy mode`, { file, field: 'mode', hint: 'use iptables, nftables or ipvs' });
  }
  return out;
}

const defaultBindAddress = (address: string): string => (isIP(address) === 4 ? WILDCARDS[4] : WILDCARDS[6]);

/** kubeadm's warnings about a user's bind address: wildcards are fine, anything else is not recommended. */
function bindAddressNotes(user: ComponentConfigDoc | undefined): string[] {
  const given = user?.bindAddress;
  if (typeof given !== 'string' || given === WILDCARDS[4] || given === WILDCARDS[6]) return [];
  if (!isIP(given)) return [`The bindAddress "${given}" in "${KUBE_PROXY_CONFIGURATION_KIND}" is not a valid IP address`];
  return recommendationNotes(KUBE_PROXY_CONFIGURATION_KIND, user, [{ field: 'bindAddress', value: defaultBindAddress(given) }]);
}

/** The KubeProxyConfiguration with the notes init prints about it. */
export function kubeProxyComponentConfigWithNotes(config: ResolvedConfig): ComponentConfigResult {
  const user = config.componentConfigs.kubeProxy;
  const podSubnet = config.cluster.networking.podSubnet;
  const mode = releaseFor(config.cluster.kubernetesVersion).kubeProxyDefaultMode;
  const defaults: ComponentConfigDoc = {
    apiVersion: KUBE_PROXY_CONFIGURATION_API_VERSION,
    kind: KUBE_PROXY_CONFIGURATION_KIND,
    bindAddress: defaultBindAddress(config.advertiseAddress),
    clientConnection: { kubeconfig: KUBE_PROXY_KUBECONFIG },
    ...(podSubnet ? { clusterCIDR: podSubnet } : {}),
    ...(mode ? { mode } : {}),
  };
  const recommended: Recommendation[] = [
    ...(podSubnet ? [{ field: 'clusterCIDR', value: podSubnet }] : []),
    { field: 'clientConnection.kubeconfig', value: KUBE_PROXY_KUBECONFIG },
  ];
  const notes = [...bindAddressNotes(user), ...recommendationNotes(KUBE_PROXY_CONFIGURATION_KIND, user, recommended)];
  if (user?.mode === 'ipvs') {
    notes.push(
      `The "${KUBE_PROXY_CONFIGURATION_KIND}" field "mode" is set to "ipvs" which has been deprecated since version v1.35. For newer Linux kernel versions, we recommend using the "nftables" mode, which has been GA since v1.33. For older Linux kernel versions, you can use the "iptables" mode which is still the default one.`,
    );
  }
  return { doc: mergeDocs(defaults, user ?? {}), notes };
}

/** The KubeProxyConfiguration kubeadm would put in the kube-proxy ConfigMap (key config.conf). */
export function kubeProxyComponentConfig(config: ResolvedConfig): Record<string, unknown> {
  return kubeProxyComponentConfigWithNotes(config).doc;
}
