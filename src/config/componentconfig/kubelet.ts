/**
 * The cluster-wide KubeletConfiguration kubeadm generates (componentconfigs/kubelet.go Default,
 * kubelet_unix.go Mutate): its defaults under the user's document, whose fields win, except
 * `rotateCertificates`, which kubeadm always sets. One deliberate difference: the cgroup driver.
 * kubeadm always defaults to systemd; a kubelet with that driver on a host where systemd is not PID 1
 * dies ("systemd not running on this host"), so when the init host has no systemd and the user did not
 * choose, the kubelets get cgroupfs and init says why.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../../errors.js';
import { MANIFESTS_DIR, PORTS } from '../../constants.js';
import type { ResolvedConfig } from '../types.js';
import { mergeDocs, recommendationNotes, valueAt, type Recommendation } from './defaulting.js';
import { decodeComponentConfig, type ComponentConfigDoc, type ComponentConfigSpec, type FieldType } from './strict.js';

export const KUBELET_CONFIGURATION_API_VERSION = 'kubelet.config.k8s.io/v1beta1';
export const KUBELET_CONFIGURATION_KIND = 'KubeletConfiguration';
/** Where resolvConf points on a host whose /etc/resolv.conf is systemd-resolved's stub. */
export const SYSTEMD_RESOLVER_CONFIG = '/run/systemd/resolve/resolv.conf';
/** What runc and the kubelet test for "systemd runs this host" (sd_booted). */
const SYSTEMD_RUNTIME_DIR = '/run/systemd/system';
const CGROUP_DRIVERS = ['systemd', 'cgroupfs'] as const;

/** The top-level fields of k8s.io/kubelet/config/v1beta1 KubeletConfiguration (v0.37), by JSON shape. */
const FIELDS: Readonly<Record<string, FieldType>> = {
  enableServer: 'bool',
  staticPodPath: 'string',
  podLogsDir: 'string',
  syncFrequency: 'duration',
  fileCheckFrequency: 'duration',
  httpCheckFrequency: 'duration',
  staticPodURL: 'string',
  staticPodURLHeader: 'listMap',
  address: 'string',
  port: 'int',
  readOnlyPort: 'int',
  tlsCertFile: 'string',
  tlsPrivateKeyFile: 'string',
  tlsCipherSuites: 'strings',
  tlsCurvePreferences: 'ints',
  tlsMinVersion: 'string',
  rotateCertificates: 'bool',
  serverTLSBootstrap: 'bool',
  authentication: 'object',
  authorization: 'object',
  registryPullQPS: 'int',
  registryBurst: 'int',
  imagePullCredentialsVerificationPolicy: 'string',
  preloadedImagesVerificationAllowlist: 'strings',
  eventRecordQPS: 'int',
  eventBurst: 'int',
  enableDebuggingHandlers: 'bool',
  enableContentionProfiling: 'bool',
  healthzPort: 'int',
  healthzBindAddress: 'string',
  oomScoreAdj: 'int',
  clusterDomain: 'string',
  clusterDNS: 'strings',
  streamingConnectionIdleTimeout: 'duration',
  nodeStatusUpdateFrequency: 'duration',
  nodeStatusReportFrequency: 'duration',
  nodeLeaseDurationSeconds: 'int',
  imageMinimumGCAge: 'duration',
  imageMaximumGCAge: 'duration',
  imageGCHighThresholdPercent: 'int',
  imageGCLowThresholdPercent: 'int',
  volumeStatsAggPeriod: 'duration',
  kubeletCgroups: 'string',
  systemCgroups: 'string',
  cgroupRoot: 'string',
  cgroupsPerQOS: 'bool',
  cgroupDriver: 'string',
  cpuManagerPolicy: 'string',
  singleProcessOOMKill: 'bool',
  cpuManagerPolicyOptions: 'stringMap',
  cpuManagerReconcilePeriod: 'duration',
  memoryManagerPolicy: 'string',
  topologyManagerPolicy: 'string',
  topologyManagerScope: 'string',
  topologyManagerPolicyOptions: 'stringMap',
  qosReserved: 'stringMap',
  runtimeRequestTimeout: 'duration',
  hairpinMode: 'string',
  maxPods: 'int',
  podCIDR: 'string',
  podPidsLimit: 'int',
  resolvConf: 'string',
  runOnce: 'bool',
  cpuCFSQuota: 'bool',
  cpuCFSQuotaPeriod: 'duration',
  nodeStatusMaxImages: 'int',
  maxOpenFiles: 'int',
  contentType: 'string',
  kubeAPIQPS: 'int',
  kubeAPIBurst: 'int',
  serializeImagePulls: 'bool',
  maxParallelImagePulls: 'int',
  evictionHard: 'stringMap',
  evictionSoft: 'stringMap',
  evictionSoftGracePeriod: 'stringMap',
  evictionPressureTransitionPeriod: 'duration',
  evictionMaxPodGracePeriod: 'int',
  evictionMinimumReclaim: 'stringMap',
  mergeDefaultEvictionSettings: 'bool',
  podsPerCore: 'int',
  enableControllerAttachDetach: 'bool',
  protectKernelDefaults: 'bool',
  makeIPTablesUtilChains: 'bool',
  iptablesMasqueradeBit: 'int',
  iptablesDropBit: 'int',
  featureGates: 'boolMap',
  failSwapOn: 'bool',
  memorySwap: 'object',
  containerLogMaxSize: 'string',
  containerLogMaxFiles: 'int',
  containerLogMaxWorkers: 'int',
  containerLogMonitorInterval: 'duration',
  configMapAndSecretChangeDetectionStrategy: 'string',
  systemReserved: 'stringMap',
  kubeReserved: 'stringMap',
  reservedSystemCPUs: 'string',
  showHiddenMetricsForVersion: 'string',
  systemReservedCgroup: 'string',
  kubeReservedCgroup: 'string',
  enforceNodeAllocatable: 'strings',
  allowedUnsafeSysctls: 'strings',
  defaultPodSysctls: 'stringMap',
  volumePluginDir: 'string',
  providerID: 'string',
  kernelMemcgNotification: 'bool',
  logging: 'object',
  enableSystemLogHandler: 'bool',
  enableSystemLogQuery: 'bool',
  shutdownGracePeriod: 'duration',
  shutdownGracePeriodCriticalPods: 'duration',
  shutdownGracePeriodByPodPriority: 'objects',
  crashLoopBackOff: 'object',
  reservedMemory: 'objects',
  enableProfilingHandler: 'bool',
  enableDebugFlagsHandler: 'bool',
  seccompDefault: 'bool',
  memoryThrottlingFactor: 'number',
  memoryReservationPolicy: 'string',
  registerWithTaints: 'objects',
  registerNode: 'bool',
  tracing: 'object',
  localStorageCapacityIsolation: 'bool',
  containerRuntimeEndpoint: 'string',
  imageServiceEndpoint: 'string',
  failCgroupV1: 'bool',
  userNamespaces: 'object',
};

export const KUBELET_CONFIGURATION: ComponentConfigSpec = {
  apiVersion: KUBELET_CONFIGURATION_API_VERSION,
  kind: KUBELET_CONFIGURATION_KIND,
  reference: 'https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/',
  fields: FIELDS,
};

/** What the kubelet configuration depends on about the host it is made on. */
export interface KubeletHostFacts {
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemd: boolean;
  /** systemd-resolved manages /etc/resolv.conf (its resolv.conf exists under /run). */
  systemdResolved: boolean;
}

/** The facts of this machine (not of --rootfs: /run and PID 1 are the host's). */
export function kubeletHostFacts(): KubeletHostFacts {
  const systemd = existsSync(SYSTEMD_RUNTIME_DIR);
  return { systemd, systemdResolved: systemd && existsSync(SYSTEMD_RESOLVER_CONFIG) };
}

/**
 * A KubeletConfiguration document checked strictly (unknown top-level field, wrong shape, old
 * apiVersion: a ConfigError naming `file` and the field), plus the one value kubestrap checks
 * beyond kubeadm because every kubelet of the cluster would die on it: the cgroup driver.
 */
export function validateKubeletConfiguration(doc: unknown, file: string): ComponentConfigDoc {
  const out = decodeComponentConfig(doc, KUBELET_CONFIGURATION, file);
  const driver = out.cgroupDriver;
  if (driver !== undefined && !(CGROUP_DRIVERS as readonly unknown[]).includes(driver)) {
    throw new ConfigError(`cgroupDriver ${JSON.stringify(driver)} is not one the kubelet knows`, {
      file,
      field: 'cgroupDriver',
      hint: `use ${CGROUP_DRIVERS.join(' or ')}`,
    });
  }
  return out;
}

/** The values kubeadm sets when the user's document leaves them empty (and recommends otherwise). */
function recommended(config: ResolvedConfig): Recommendation[] {
  return [
    { field: 'staticPodPath', value: MANIFESTS_DIR },
    { field: 'clusterDNS', value: [config.dnsServiceIP] },
    { field: 'clusterDomain', value: config.cluster.networking.dnsDomain },
    { field: 'authentication.x509.clientCAFile', value: `${config.cluster.certificatesDir}/ca.crt` },
    { field: 'authentication.anonymous.enabled', value: false },
    { field: 'authorization.mode', value: 'Webhook' },
    { field: 'authentication.webhook.enabled', value: true },
    { field: 'healthzBindAddress', value: '127.0.0.1' },
    { field: 'healthzPort', value: PORTS.kubeletHealthz },
  ];
}

function nested(field: string, value: unknown): ComponentConfigDoc {
  const parts = field.split('.');
  return parts.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as ComponentConfigDoc;
}

export interface ComponentConfigResult {
  doc: ComponentConfigDoc;
  /** One line each: kubeadm's warnings about the user's values, and why a default differs from kubeadm's. */
  notes: string[];
}

/** The cluster-wide KubeletConfiguration with the notes init prints about it. */
export function kubeletComponentConfigWithNotes(config: ResolvedConfig, facts: KubeletHostFacts = kubeletHostFacts()): ComponentConfigResult {
  const user = config.componentConfigs.kubelet;
  const defaults = recommended(config).reduce<ComponentConfigDoc>((doc, r) => mergeDocs(doc, nested(r.field, r.value)), {
    apiVersion: KUBELET_CONFIGURATION_API_VERSION,
    kind: KUBELET_CONFIGURATION_KIND,
    cgroupDriver: facts.systemd ? 'systemd' : 'cgroupfs',
  });
  const notes = recommendationNotes(KUBELET_CONFIGURATION_KIND, user, [...recommended(config), { field: 'readOnlyPort', value: 0 }]);
  if (!facts.systemd && valueAt(user ?? {}, 'cgroupDriver') === undefined) {
    notes.push(
      `this host does not run systemd as PID 1 (no ${SYSTEMD_RUNTIME_DIR}), so the kubelets get cgroupDriver "cgroupfs" instead of kubeadm's "systemd", with which a kubelet dies here; set cgroupDriver in a KubeletConfiguration document to choose`,
    );
  }
  if (user?.rotateCertificates === false)
    notes.push('rotateCertificates: false is overridden: kubeadm always has the kubelets rotate their client certificates');
  // kubeadm sets this one unconditionally: a kubelet that cannot renew its client certificate stops after a year
  const doc = { ...mergeDocs(defaults, user ?? {}), rotateCertificates: true };
  return { doc, notes };
}

/** The cluster-wide KubeletConfiguration kubeadm would upload to the kubelet-config ConfigMap. */
export function kubeletComponentConfig(config: ResolvedConfig, facts?: KubeletHostFacts): Record<string, unknown> {
  return kubeletComponentConfigWithNotes(config, facts).doc;
}

/**
 * A node's own KubeletConfiguration (`file`, e.g. from `join --config`) over the cluster's (from
 * the kubelet-config ConfigMap): the node's fields win, mappings merge field by field, lists are
 * replaced. The node's document is checked like init's.
 */
export function overlayKubeletConfiguration(clusterDoc: Record<string, unknown>, nodeDoc: unknown, file: string): Record<string, unknown> {
  return mergeDocs(clusterDoc, validateKubeletConfiguration(nodeDoc, file));
}

/**
 * kubeadm's node-local change before the kubelet's config.yaml is written (Mutate, never uploaded):
 * on a host with systemd-resolved, resolvConf points at its real resolv.conf, not the 127.0.0.53 stub.
 */
export function nodeLocalKubeletConfiguration(doc: Record<string, unknown>, facts: KubeletHostFacts = kubeletHostFacts()): Record<string, unknown> {
  if (!facts.systemdResolved || doc.resolvConf !== undefined) return doc;
  return { ...doc, resolvConf: SYSTEMD_RESOLVER_CONFIG };
}
