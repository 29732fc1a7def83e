/**
 * Config resolution: load (--config) → overlay on kubeadm defaults → flags → host defaults →
 * validate → derive. The result is the one ResolvedConfig every phase reads; nothing is written
 * before this has succeeded.
 */
import { NODE_LOCAL_LB } from '../constants.js';
import { ConfigError, type ErrorPlace } from '../errors.js';
import {
  AGENT_STATE_DIR,
  DEFAULT_CRI_SOCKET,
  KUBERNETES_DIR,
  MANIFESTS_DIR,
  defaultBootstrapToken,
  defaultClusterConfiguration,
  defaultInitConfiguration,
  defaultLocalEtcd,
  defaultNodeName,
  generateBootstrapToken,
} from './defaults.js';
import { syncSkippedAddons } from './addons.js';
import { parseDuration } from './duration.js';
import { INIT_FLAGS, type InitFlags } from './flags.js';
import { corednsImage, etcdImage, etcdImageTag, etcdVersionOfTag, kubernetesImage, pauseImage } from './images.js';
import { loadConfigFile, type LoadedConfig } from './load.js';
import { overlay } from './merge.js';
import { defaultRouteIPv4, joinHostPort, nthIP, parseCIDR, splitHostPort } from './net.js';
import type { ClusterConfiguration, ComponentConfigs, InitConfiguration, LocalEtcd, ResolvedConfig, Timeouts } from './types.js';
import { validateClusterConfiguration, validateConfig, type Placer } from './validate.js';
import { resolveKubernetesVersion } from './versions.js';

export interface Documents {
  init: InitConfiguration;
  cluster: ClusterConfiguration;
}

export interface ResolveOptions {
  /** Where non-fatal notes go (ignored documents, normalized values). Default: stderr. */
  warn?: (message: string) => void;
  /** A configuration already read (e.g. from the kubeadm-config ConfigMap) instead of `--config`. */
  loaded?: LoadedConfig;
}

/** kubeadm's isAllowedFlag for init: the flags that may be combined with --config. */
const MIXABLE_WITH_CONFIG: ReadonlySet<keyof InitFlags> = new Set<keyof InitFlags>([
  'config',
  'skipPhases',
  'ignorePreflightErrors',
  'dryRun',
  'uploadCerts',
  'certificateKey',
  'rootfs',
  'runtime',
  // kubestrap's own: it adds to certSANs, whatever the file says
  'nodeLocalLb',
]);

type FlagSetter = (docs: Documents, value: string, flag: string) => void;

const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** How each flag changes the documents (its field is named in flags.ts). */
const FLAG_SETTERS: Partial<Record<keyof InitFlags, FlagSetter>> = {
  apiserverAdvertiseAddress: (d, v) => void (d.init.localAPIEndpoint.advertiseAddress = v),
  apiserverBindPort: (d, v, flag) => {
    if (!/^\d+$/.test(v)) throw new ConfigError(`"${v}" is not a valid port`, { field: flag, hint: 'use a port between 1 and 65535' });
    d.init.localAPIEndpoint.bindPort = Number(v);
  },
  controlPlaneEndpoint: (d, v) => void (d.cluster.controlPlaneEndpoint = v),
  kubernetesVersion: (d, v) => void (d.cluster.kubernetesVersion = v),
  podNetworkCidr: (d, v) => void (d.cluster.networking.podSubnet = v),
  serviceCidr: (d, v) => void (d.cluster.networking.serviceSubnet = v),
  serviceDnsDomain: (d, v) => void (d.cluster.networking.dnsDomain = v),
  apiserverCertExtraSans: (d, v) => void (d.cluster.apiServer.certSANs = splitList(v)),
  certDir: (d, v) => void (d.cluster.certificatesDir = v),
  nodeName: (d, v) => void (d.init.nodeRegistration.name = v),
  imageRepository: (d, v) => void (d.cluster.imageRepository = v),
  criSocket: (d, v) => void (d.init.nodeRegistration.criSocket = v),
  // kubeadm merges the flag's checks with the file's.
  ignorePreflightErrors: (d, v) => {
    const all = [...d.init.nodeRegistration.ignorePreflightErrors, ...splitList(v)];
    d.init.nodeRegistration.ignorePreflightErrors = [...new Set(all)];
  },
  skipPhases: (d, v) => void (d.init.skipPhases = splitList(v)),
  certificateKey: (d, v) => void (d.init.certificateKey = v),
  token: (d, v) => void (firstToken(d).token = v),
  tokenTtl: (d, v) => void (firstToken(d).ttl = v),
};

function firstToken(d: Documents): InitConfiguration['bootstrapTokens'][number] {
  if (d.init.bootstrapTokens.length === 0) d.init.bootstrapTokens.push(defaultBootstrapToken(''));
  return d.init.bootstrapTokens[0]!;
}

/** `--flag-name` and the config field of every init flag, from the one flag table. */
const FLAG_INFO: ReadonlyMap<keyof InitFlags, { name: string; field?: string }> = new Map(
  INIT_FLAGS.map((spec) => {
    const name = spec.flags.split(/[ ,]/)[0]!;
    const key = name.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof InitFlags;
    return [key, { name, field: spec.field }];
  }),
);

function flagsSet(flags: InitFlags): (keyof InitFlags)[] {
  return (Object.keys(flags) as (keyof InitFlags)[]).filter((k) => flags[k] !== undefined && flags[k] !== false && FLAG_INFO.has(k));
}

/** kubeadm's ValidateMixedArguments: with --config, only a few flags may be given. */
function checkMixedFlags(flags: InitFlags): void {
  // Sorted by flag name, as pflag's Visit reports them.
  const bad = flagsSet(flags)
    .filter((k) => !MIXABLE_WITH_CONFIG.has(k))
    .map((k) => FLAG_INFO.get(k)!)
    .sort((a, b) => a.name.localeCompare(b.name));
  if (bad.length === 0) return;
  const names = bad.map((f) => f.name.slice(2));
  const fields = bad.map((f) => f.field).filter(Boolean);
  throw new ConfigError(`can not mix '--config' with arguments [${names.join(' ')}]`, {
    hint: `set ${fields.join(', ')} in the config file instead`,
  });
}

/** kubeadm's defaulting of the two documents from an optional file, before flags. */
export function documentsFrom(loaded: LoadedConfig | undefined): Documents {
  const init = overlay<InitConfiguration>(defaultInitConfiguration(), loaded?.init);
  const cluster = overlay<ClusterConfiguration>(defaultClusterConfiguration(), loaded?.cluster);
  init.bootstrapTokens = init.bootstrapTokens.map((t) => ({ ...defaultBootstrapToken(''), ...t }));
  if (!cluster.etcd.external || cluster.etcd.local) cluster.etcd = { ...cluster.etcd, local: overlay<LocalEtcd>(defaultLocalEtcd(), cluster.etcd.local) };
  return { init, cluster };
}

/** Normalizations kubeadm applies silently or with a warning. */
function normalize(docs: Documents, warn: (m: string) => void): void {
  const { cluster, init } = docs;
  cluster.kubernetesVersion = resolveKubernetesVersion(cluster.kubernetesVersion);
  const cri = init.nodeRegistration.criSocket;
  if (cri === '') init.nodeRegistration.criSocket = DEFAULT_CRI_SOCKET;
  else if (cri.startsWith('/')) {
    warn(`Usage of CRI endpoints without URL scheme is deprecated; using "unix://${cri}"`);
    init.nodeRegistration.criSocket = `unix://${cri}`;
  }
  syncSkippedAddons(init, cluster);
}

function fillHostDefaults(docs: Documents): void {
  const { init } = docs;
  if (!init.nodeRegistration.name) init.nodeRegistration.name = defaultNodeName();
  if (!init.localAPIEndpoint.advertiseAddress) init.localAPIEndpoint.advertiseAddress = defaultRouteIPv4();
  if (init.bootstrapTokens.length === 0) init.bootstrapTokens.push(defaultBootstrapToken(''));
  for (const t of init.bootstrapTokens) if (!t.token) t.token = generateBootstrapToken();
}

/** Error places: a field a flag set is named by the flag; others by file and field. */
function placer(flags: InitFlags, file: string | undefined): Placer {
  const byField = new Map<string, string>();
  for (const key of flagsSet(flags)) {
    const info = FLAG_INFO.get(key)!;
    if (info.field) byField.set(info.field, info.name);
  }
  return (field: string): ErrorPlace => {
    for (const [f, flag] of byField) {
      if (field === f || field.startsWith(`${f}.`) || field.startsWith(`${f}[`)) return { field: flag };
    }
    return file ? { file, field } : { field };
  };
}

/**
 * The defaulted and validated documents for flags (+ --config). Shared by init and the `config`
 * commands; throws ConfigError on the first problem. Synchronous (the file is small) so test
 * fixtures can use it directly.
 */
export function resolveDocumentsSync(flags: InitFlags, options: ResolveOptions = {}): Documents & { file?: string; componentConfigs: ComponentConfigs } {
  const warn = options.warn ?? ((m: string) => process.stderr.write(`[config] WARNING: ${m}\n`));
  let loaded: LoadedConfig | undefined;
  if (flags.config !== undefined) {
    checkMixedFlags(flags);
    loaded = loadConfigFile(flags.config);
    loaded.warnings.forEach(warn);
  }
  const docs = documentsFrom(loaded);
  for (const key of flagsSet(flags)) {
    const value = flags[key];
    const setter = FLAG_SETTERS[key];
    if (setter) setter(docs, value === true ? 'true' : String(value), FLAG_INFO.get(key)!.name);
  }
  if (flags.dryRun === true) docs.init.dryRun = true;
  // after the setters: --apiserver-cert-extra-sans replaces the list, this adds to it
  if (flags.nodeLocalLb === true) docs.cluster.apiServer.certSANs = [...new Set([...docs.cluster.apiServer.certSANs, ...NODE_LOCAL_LB.certSANs])];
  normalize(docs, warn);
  fillHostDefaults(docs);
  validateConfig(docs.init, docs.cluster, placer(flags, loaded?.file));
  return { ...docs, file: loaded?.file, componentConfigs: loaded?.componentConfigs ?? {} };
}

/** The flags `config images list` takes (kubeadm's names). */
export interface ImagesFlags {
  config?: string;
  kubernetesVersion?: string;
  imageRepository?: string;
}

/**
 * The ClusterConfiguration alone (file + flags + defaults, validated), for commands that describe
 * the cluster without a node: `config images list`. Flags override the file here, as in kubeadm.
 */
export function resolveClusterConfiguration(flags: ImagesFlags, options: ResolveOptions = {}): ClusterConfiguration {
  const warn = options.warn ?? ((m: string) => process.stderr.write(`[config] WARNING: ${m}\n`));
  const loaded = flags.config !== undefined ? loadConfigFile(flags.config) : options.loaded;
  loaded?.warnings.forEach(warn);
  const docs = documentsFrom(loaded);
  if (flags.kubernetesVersion !== undefined) docs.cluster.kubernetesVersion = flags.kubernetesVersion;
  if (flags.imageRepository !== undefined) docs.cluster.imageRepository = flags.imageRepository;
  normalize(docs, warn);
  validateClusterConfiguration(docs.cluster, placer(flags, loaded?.file));
  return docs.cluster;
}

/** Everything derived once from the documents (see ResolvedConfig). */
export function deriveConfig(
  init: InitConfiguration,
  cluster: ClusterConfiguration,
  configFile?: string,
  componentConfigs: ComponentConfigs = {},
): ResolvedConfig {
  const advertiseAddress = init.localAPIEndpoint.advertiseAddress;
  const bindPort = init.localAPIEndpoint.bindPort;
  let clusterEndpoint = joinHostPort(advertiseAddress, bindPort);
  if (cluster.controlPlaneEndpoint) {
    const { host, port } = splitHostPort(cluster.controlPlaneEndpoint);
    clusterEndpoint = joinHostPort(host, port ?? bindPort);
  }
  const serviceCIDR = parseCIDR(cluster.networking.serviceSubnet.split(',')[0]!.trim())!;
  const ms = (d: string): number => parseDuration(d)!;
  const timeoutsMs = Object.fromEntries(Object.entries(init.timeouts).map(([k, v]: [string, string]) => [k, ms(v)])) as Record<keyof Timeouts, number>;
  return {
    init,
    cluster,
    configFile,
    componentConfigs,
    nodeName: init.nodeRegistration.name,
    advertiseAddress,
    bindPort,
    localAPIServerURL: `https://${joinHostPort(advertiseAddress, bindPort)}`,
    clusterAPIServerURL: `https://${clusterEndpoint}`,
    kubernetesServiceIP: nthIP(serviceCIDR, 1)!,
    dnsServiceIP: nthIP(serviceCIDR, 10)!,
    timeoutsMs,
    certificateValidityMs: ms(cluster.certificateValidityPeriod),
    caCertificateValidityMs: ms(cluster.caCertificateValidityPeriod),
    ignorePreflightErrors: new Set(init.nodeRegistration.ignorePreflightErrors.map((s) => s.toLowerCase())),
    skipPhases: init.skipPhases,
    images: {
      etcd: etcdImage(cluster),
      kubeApiserver: kubernetesImage(cluster, 'kube-apiserver'),
      kubeControllerManager: kubernetesImage(cluster, 'kube-controller-manager'),
      kubeScheduler: kubernetesImage(cluster, 'kube-scheduler'),
      pause: pauseImage(cluster),
      coredns: corednsImage(cluster),
      kubeProxy: kubernetesImage(cluster, 'kube-proxy'),
    },
    etcdVersion: etcdVersionOfTag(etcdImageTag(cluster)),
    paths: {
      kubernetesDir: KUBERNETES_DIR,
      manifestsDir: MANIFESTS_DIR,
      pkiDir: cluster.certificatesDir,
      etcdDataDir: cluster.etcd.local?.dataDir ?? defaultLocalEtcd().dataDir,
      agentStateDir: AGENT_STATE_DIR,
    },
  };
}

/** The config `kubestrap init` (and every init phase) runs with. */
export async function resolveInitConfig(flags: InitFlags, options: ResolveOptions = {}): Promise<ResolvedConfig> {
  const { init, cluster, file, componentConfigs } = resolveDocumentsSync(flags, options);
  return deriveConfig(init, cluster, file, componentConfigs);
}
