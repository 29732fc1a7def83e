/**
 * The cluster's KubeProxyConfiguration with kubeadm's defaults (cmd/kubeadm/app/componentconfigs/
 * kubeproxy.go Default): bind to the wildcard of the advertise address' family, the pod subnet as
 * clusterCIDR, the kubeconfig the kube-proxy ConfigMap mounts, and — from v1.37 on — `mode: iptables`
 * said explicitly. Minimal until a `KubeProxyConfiguration` document in `--config` is honoured.
 */
import { isIP } from 'node:net';
import type { ResolvedConfig } from '../types.js';
import { minorOf } from '../versions.js';

export const KUBE_PROXY_CONFIG_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
/** Where the kube-proxy DaemonSet mounts its ConfigMap's kubeconfig.conf. */
export const KUBE_PROXY_KUBECONFIG = '/var/lib/kube-proxy/kubeconfig.conf';

export function kubeProxyComponentConfig(config: ResolvedConfig): Record<string, unknown> {
  const podSubnet = config.cluster.networking.podSubnet;
  return {
    apiVersion: KUBE_PROXY_CONFIG_API_VERSION,
    kind: 'KubeProxyConfiguration',
    bindAddress: isIP(config.advertiseAddress) === 4 ? '0.0.0.0' : '::',
    clientConnection: { kubeconfig: KUBE_PROXY_KUBECONFIG },
    ...(podSubnet ? { clusterCIDR: podSubnet } : {}),
    ...(minorOf(config.cluster.kubernetesVersion) >= 37 ? { mode: 'iptables' } : {}),
  };
}
