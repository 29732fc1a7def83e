/**
 * What kubelet-start writes, as pure functions (unit-tested): the KubeletConfiguration (the
 * cluster's `kubelet-config` ConfigMap, the node's own document over it, the CRI endpoint of
 * kubeadm's instance-config.yaml), kubeadm-flags.env (kubeadm's phases/kubelet/flags.go), the
 * bootstrap kubeconfig, and the kubelet service: kubeadm's packaging (kubelet.service + the
 * 10-kubeadm.conf drop-in) or the supervised command with the same arguments.
 */
import { parse, stringify } from 'yaml';
import { nodeLocalKubeletConfiguration, overlayKubeletConfiguration } from '../config/componentconfig/kubelet.js';
import type { ComponentConfigDoc } from '../config/componentconfig/strict.js';
import type { ResolvedJoin } from '../config/join.js';
import type { Arg } from '../config/types.js';
import { KUBELET_KUBECONFIG, KUBELET_PATHS } from '../constants.js';
import type { Host } from '../host/host.js';
import { renderKubeconfig } from '../kubeconfig/render.js';
import type { DiscoveredCluster } from '../kube/join-discovery.js';
import { KUBELET_SERVICE, type NodeService } from './node-service.js';

/** kubeadm's discovery.TokenUser and DefaultClusterName. */
export const TLS_BOOTSTRAP_USER = 'tls-bootstrap-token-user';
export const BOOTSTRAP_CLUSTER_NAME = 'kubernetes';
/** kubeadm 1.32+: the node's CRI endpoint lives here and is patched into config.yaml. */
export const KUBELET_INSTANCE_CONFIG = '/var/lib/kubelet/instance-config.yaml';

/**
 * KubeletConfiguration fields that are host paths. Under --rootfs the kubelet gets them mapped (it
 * reads paths as given), and the kubelet's own defaults that write outside its root dir
 * (podLogsDir, volumePluginDir) are moved under the rootfs too.
 */
const PATH_FIELDS: readonly string[][] = [
  ['staticPodPath'],
  ['authentication', 'x509', 'clientCAFile'],
  ['tlsCertFile'],
  ['tlsPrivateKeyFile'],
  ['podLogsDir'],
  ['volumePluginDir'],
];
const ROOTFS_DEFAULTS: Readonly<Record<string, string>> = {
  podLogsDir: '/var/log/pods',
  volumePluginDir: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec',
};

function mapPaths(doc: ComponentConfigDoc, host: Host): ComponentConfigDoc {
  if (host.rootfs === '/') return doc;
  const out = structuredClone(doc);
  for (const [key, value] of Object.entries(ROOTFS_DEFAULTS)) out[key] ??= value;
  for (const field of PATH_FIELDS) {
    let parent: Record<string, unknown> = out;
    for (const key of field.slice(0, -1)) {
      const next = parent[key];
      if (typeof next !== 'object' || next === null) break;
      parent = next as Record<string, unknown>;
    }
    const last = field[field.length - 1]!;
    const value = parent[last];
    if (typeof value === 'string' && value.startsWith('/')) parent[last] = host.pathOnce(value);
  }
  return out;
}

/** config.yaml: the cluster's document, the node's over it, kubeadm's node-local changes, the CRI endpoint (instance config) over all. */
export function kubeletConfigYaml(
  clusterDoc: ComponentConfigDoc,
  cfg: Pick<ResolvedJoin, 'criSocket'> & Partial<Pick<ResolvedJoin, 'nodeKubelet'>>,
  host: Host,
): string {
  const merged = cfg.nodeKubelet ? overlayKubeletConfiguration(clusterDoc, cfg.nodeKubelet.doc, cfg.nodeKubelet.file) : clusterDoc;
  // kubeadm's Mutate (node-local, never uploaded), then the node's CRI endpoint (instance-config.yaml)
  return stringify(mapPaths({ ...nodeLocalKubeletConfiguration(merged), containerRuntimeEndpoint: cfg.criSocket }, host), { sortMapEntries: true });
}

type NodeKubelet = NonNullable<ResolvedJoin['nodeKubelet']>;

/**
 * The node's own KubeletConfiguration (join --config), kept beside config.yaml so that `upgrade
 * node` can lay it over the cluster's document again; kubeadm users need --patches for that.
 */
export function nodeKubeletFile(nodeKubelet: NodeKubelet): [path: string, text: string, mode: number] {
  return [KUBELET_PATHS.nodeConfig, stringify(nodeKubelet.doc), 0o644];
}

/** What nodeKubeletFile kept, or undefined when join had no KubeletConfiguration. */
export async function readNodeKubelet(host: Host): Promise<NodeKubelet | undefined> {
  const text = (await host.readOptional(KUBELET_PATHS.nodeConfig))?.toString('utf8');
  if (text === undefined) return undefined;
  return { doc: (parse(text) ?? {}) as ComponentConfigDoc, file: host.path(KUBELET_PATHS.nodeConfig) };
}

export function instanceConfigYaml(cfg: ResolvedJoin): string {
  return `containerRuntimeEndpoint: ${JSON.stringify(cfg.criSocket)}\n`;
}

/**
 * kubeadm's buildKubeletArgs for a worker (`--hostname-override` when the node name is not the host
 * name; taints, none by default), then ArgumentsToCommand with nodeRegistration.kubeletExtraArgs:
 * base flags sorted, an extra arg replaces the base flag of its name and goes last. Under --rootfs
 * the kubelet's root and cert dirs are node flags too.
 */
export function kubeletFlags(cfg: ResolvedJoin, host: Host, hostname: string): string[] {
  const base: Arg[] = [];
  const taints = cfg.join.nodeRegistration.taints ?? [];
  if (taints.length > 0) base.push({ name: 'register-with-taints', value: taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(',') });
  if (cfg.nodeName !== hostname) base.push({ name: 'hostname-override', value: cfg.nodeName });
  if (host.rootfs !== '/') base.push({ name: 'root-dir', value: host.path('/var/lib/kubelet') }, { name: 'cert-dir', value: host.path(KUBELET_PATHS.pkiDir) });
  base.sort((a, b) => a.name.localeCompare(b.name));
  const extra = cfg.join.nodeRegistration.kubeletExtraArgs;
  const overridden = new Set(extra.map((a) => a.name));
  return [...base.filter((a) => !overridden.has(a.name)), ...extra].map((a) => `--${a.name}=${a.value}`);
}

/** kubeadm-flags.env (Go's %q of the joined flags). */
export function kubeletFlagsEnv(flags: readonly string[]): string {
  return `KUBELET_KUBEADM_ARGS=${JSON.stringify(flags.join(' '))}\n`;
}

/** bootstrap-kubelet.conf: the discovered cluster with the TLS bootstrap token (or the discovery file's credentials). */
export function bootstrapKubeconfig(cluster: DiscoveredCluster, tlsBootstrapToken: string): string {
  const creds = tlsBootstrapToken ? { token: tlsBootstrapToken } : (cluster.credentials ?? {});
  return renderKubeconfig({ clusterName: BOOTSTRAP_CLUSTER_NAME, server: cluster.server, caPem: cluster.caPem, userName: TLS_BOOTSTRAP_USER, ...creds });
}

/** kubeadm's packaging: /usr/lib/systemd/system/kubelet.service. */
export function kubeletUnit(kubelet: string): string {
  return [
    '[Unit]',
    'Description=kubelet: The Kubernetes Node Agent',
    'Documentation=https://kubernetes.io/docs/',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${kubelet}`,
    'Restart=always',
    'StartLimitInterval=0',
    'RestartSec=10',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The drop-in args, as host paths mapped under the rootfs. */
function dropInArgs(host: Host): { kubeconfig: string; config: string } {
  return {
    kubeconfig: `--bootstrap-kubeconfig=${host.path(KUBELET_PATHS.bootstrapKubeconfig)} --kubeconfig=${host.path(KUBELET_KUBECONFIG)}`,
    config: `--config=${host.path(KUBELET_PATHS.config)}`,
  };
}

/** kubeadm's packaging: kubelet.service.d/10-kubeadm.conf. */
export function kubeletDropIn(kubelet: string, host: Host): string {
  const a = dropInArgs(host);
  return [
    '# Note: This dropin only works with kubeadm and kubelet v1.11+',
    '[Service]',
    `Environment="KUBELET_KUBECONFIG_ARGS=${a.kubeconfig}"`,
    `Environment="KUBELET_CONFIG_ARGS=${a.config}"`,
    '# This is a file that "kubestrap join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically',
    `EnvironmentFile=-${host.path(KUBELET_PATHS.flagsEnv)}`,
    '# A file the user can use for overrides of the kubelet args as a last resort (KUBELET_EXTRA_ARGS);',
    '# preferably use .nodeRegistration.kubeletExtraArgs in the configuration instead.',
    'EnvironmentFile=-/etc/default/kubelet',
    'ExecStart=',
    `ExecStart=${kubelet} $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS`,
    '',
  ].join('\n');
}

/** The kubelet as a node service: the unit + drop-in for systemd, the same command line for the supervisor. */
export function kubeletService(kubelet: string, host: Host, flags: readonly string[]): NodeService {
  const a = dropInArgs(host);
  return {
    label: 'kubelet',
    unitName: KUBELET_SERVICE.unitName,
    unitFiles: { [KUBELET_SERVICE.unit]: kubeletUnit(kubelet), [KUBELET_SERVICE.dropIn]: kubeletDropIn(kubelet, host) },
    command: kubelet,
    args: [...a.kubeconfig.split(' '), a.config, ...flags],
    pidFile: KUBELET_SERVICE.pid,
    childPidFile: KUBELET_SERVICE.childPid,
    logFile: KUBELET_SERVICE.log,
  };
}
