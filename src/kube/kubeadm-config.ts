/**
 * kubeadm's getInternalCfg for `certs renew` and `certs check-expiration`: without --config, the
 * ClusterConfiguration comes from the kube-system/kubeadm-config ConfigMap read with admin.conf
 * (a certificatesDir or validity period set at init then holds), and when the cluster cannot be
 * read (it may be down: that is when certificates get renewed) the defaults do, as kubeadm says.
 */
import { parseConfig, type LoadedConfig } from '../config/load.js';
import { resolveClusterConfiguration } from '../config/resolve.js';
import type { ClusterConfiguration } from '../config/types.js';
import type { Host } from '../host/host.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { rawRequest } from './raw.js';

export const ADMIN_CONF = '/etc/kubernetes/admin.conf';
const CM_PATH = '/api/v1/namespaces/kube-system/configmaps/kubeadm-config';

/** The ConfigMap's ClusterConfiguration, parsed; undefined when it cannot be read. */
export async function fetchKubeadmConfig(host: Host, kubeconfig = ADMIN_CONF): Promise<LoadedConfig | undefined> {
  try {
    const kc = await loadKubeconfig(host, kubeconfig);
    if (!kc) return undefined;
    const res = await rawRequest(kc, 'GET', CM_PATH, { timeoutMs: 5000 });
    if (res.status !== 200) return undefined;
    const text = (JSON.parse(res.body) as { data?: Record<string, string> }).data?.ClusterConfiguration;
    return text ? parseConfig(text, 'kube-system/kubeadm-config') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * --config, else the cluster's kubeadm-config (only tried when admin.conf can be read, as kubeadm's
 * client), else the defaults; kubeadm's lines through `out` (text output only).
 */
export async function clusterConfigFor(
  command: 'renew' | 'check-expiration',
  host: Host,
  config: string | undefined,
  out: (line: string) => void,
): Promise<ClusterConfiguration> {
  if (config !== undefined) return resolveClusterConfiguration({ config });
  const kc = await loadKubeconfig(host, ADMIN_CONF).catch(() => undefined);
  if (!kc) return resolveClusterConfiguration({});
  out(`[${command}] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n`);
  out(`[${command}] Use 'kubestrap init phase upload-config kubeadm --config your-config-file' to re-upload it.\n`);
  const loaded = await fetchKubeadmConfig(host);
  if (!loaded) {
    out(`[${command}] Error reading configuration from the Cluster. Falling back to default configuration\n\n`);
    return resolveClusterConfiguration({});
  }
  out('\n');
  return resolveClusterConfiguration({}, { loaded });
}
