/**
 * `kubestrap join`'s configuration: flags + `--config` (a kubeadm.k8s.io/v1beta4 JoinConfiguration,
 * strict like init's, and optionally the node's own KubeletConfiguration beside it) + kubeadm's
 * defaults → validated → ResolvedJoin, the one object the join phases read. Nothing is written
 * before this has succeeded.
 */
import { ConfigError } from '../errors.js';
import { KUBELET_CONFIGURATION_API_VERSION, validateKubeletConfiguration } from './componentconfig/kubelet.js';
import type { ComponentConfigDoc } from './componentconfig/strict.js';
import { DEFAULT_BIND_PORT, DEFAULT_CERTIFICATES_DIR, DEFAULT_CRI_SOCKET, DEFAULT_TIMEOUTS, defaultNodeName, defaultNodeRegistration } from './defaults.js';
import { parseDuration } from './duration.js';
import { defaultRouteIPv4 } from './net.js';
import { configDocuments, decode, readConfigText } from './load.js';
import { overlay, type DeepPartial } from './merge.js';
import { JOIN_CONFIGURATION_SCHEMA } from './schema.js';
import { KUBEADM_API_VERSION, type JoinConfiguration, type RuntimeKind, type Timeouts } from './types.js';
import { validateJoinConfiguration } from './validate-join.js';

/** `kubestrap join` flags, kubeadm's names (commander camel-cases them). */
export interface JoinFlags {
  config?: string;
  token?: string;
  discoveryToken?: string;
  discoveryTokenCaCertHash?: string[];
  discoveryTokenUnsafeSkipCaVerification?: boolean;
  discoveryFile?: string;
  tlsBootstrapToken?: string;
  nodeName?: string;
  criSocket?: string;
  ignorePreflightErrors?: string;
  skipPhases?: string;
  dryRun?: boolean;
  rootfs?: string;
  /** Run the kubestrap agent instead of the kubelet (a static-pods-only node). */
  agent?: boolean;
  /** The kubelet binary (default: $KUBESTRAP_KUBELET, else `kubelet` on PATH). */
  kubeletPath?: string;
  /** kubestrap's own: reach the API through the node-local balancer on 127.0.0.1:7443 (not a JoinConfiguration field). */
  nodeLocalLb?: boolean;
  /** Join as a control-plane instance (kubeadm's --control-plane). */
  controlPlane?: boolean;
  /** Decrypts kube-system/kubeadm-certs (kubeadm's --certificate-key). */
  certificateKey?: string;
  apiserverAdvertiseAddress?: string;
  apiserverBindPort?: string;
  /** How a control-plane node's agent runs its static pods (init's --runtime). */
  runtime?: RuntimeKind;
}

/** The join configuration every join phase reads. */
export interface ResolvedJoin {
  join: JoinConfiguration;
  configFile?: string;
  nodeName: string;
  criSocket: string;
  timeoutsMs: Record<keyof Timeouts, number>;
  /** Lower-cased check names (`all` ignores every one). */
  ignorePreflightErrors: ReadonlySet<string>;
  skipPhases: readonly string[];
  /** The node's own KubeletConfiguration from --config, laid over the cluster's. */
  nodeKubelet?: { doc: ComponentConfigDoc; file: string };
  agent: boolean;
  kubeletPath?: string;
  /** The kubelet (or agent) dials https://127.0.0.1:7443, a balancer over every API server (--node-local-lb). */
  nodeLocalLb: boolean;
  /** `--runtime` for a control-plane node's agent; chosen from the host when absent. */
  runtime?: RuntimeKind;
}

export const EXAMPLE_JOIN_ENDPOINT = 'kube-apiserver:6443';

/** kubeadm's SetDefaults_JoinConfiguration, with the host-dependent name left empty. */
export function defaultJoinConfiguration(): JoinConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'JoinConfiguration',
    dryRun: false,
    nodeRegistration: defaultNodeRegistration(),
    caCertPath: `${DEFAULT_CERTIFICATES_DIR}/ca.crt`,
    discovery: { tlsBootstrapToken: '' },
    skipPhases: [],
    timeouts: { ...DEFAULT_TIMEOUTS },
  };
}

/** kubeadm's flags that may be combined with --config (isAllowedFlag: these, and every `skip-*`). */
const MIXABLE_WITH_CONFIG: ReadonlySet<keyof JoinFlags> = new Set<keyof JoinFlags>([
  'config',
  'ignorePreflightErrors',
  'dryRun',
  'nodeName',
  'skipPhases',
  'rootfs',
  'agent',
  'kubeletPath',
  'nodeLocalLb',
  'runtime',
]);

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const splitList = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export interface LoadedJoinConfig {
  file: string;
  join?: DeepPartial<JoinConfiguration>;
  kubelet?: ComponentConfigDoc;
  warnings: string[];
}

/** The documents of a join --config file: JoinConfiguration, the node's KubeletConfiguration; other kubeadm kinds are skipped as kubeadm does. */
export function parseJoinConfig(text: string, file: string): LoadedJoinConfig {
  const out: LoadedJoinConfig = { file, warnings: [] };
  for (const { body, apiVersion, kind, docName } of configDocuments(text, file, 'JoinConfiguration')) {
    if (kind === 'KubeletConfiguration' && apiVersion.startsWith('kubelet.config.k8s.io/')) {
      if (out.kubelet) throw new ConfigError(`KubeletConfiguration appears twice (${docName})`, { file, field: 'kind', hint: 'merge them into one document' });
      out.kubelet = validateKubeletConfiguration(body, file);
      continue;
    }
    if (apiVersion.split('/')[0] === 'kubeadm.k8s.io' && apiVersion !== KUBEADM_API_VERSION) {
      throw new ConfigError(`${apiVersion} is not supported`, { file, field: 'apiVersion', hint: `use ${KUBEADM_API_VERSION}` });
    }
    if (apiVersion !== KUBEADM_API_VERSION) {
      throw new ConfigError(`unknown apiVersion "${apiVersion}" of ${kind} (${docName})`, {
        file,
        field: 'apiVersion',
        hint: `use ${KUBEADM_API_VERSION} for JoinConfiguration, ${KUBELET_CONFIGURATION_API_VERSION} for KubeletConfiguration`,
      });
    }
    if (kind !== 'JoinConfiguration') {
      if (['InitConfiguration', 'ClusterConfiguration', 'ResetConfiguration', 'UpgradeConfiguration'].includes(kind)) {
        out.warnings.push(`${file}: ignoring the ${kind} document (${docName}); join reads JoinConfiguration and KubeletConfiguration`);
        continue;
      }
      throw new ConfigError(`unknown kind "${kind}" (${docName})`, { file, field: 'kind', hint: 'use JoinConfiguration or KubeletConfiguration' });
    }
    if (out.join) throw new ConfigError(`JoinConfiguration appears twice (${docName})`, { file, field: 'kind', hint: 'merge them into one document' });
    // decode() checked every field against the schema, which mirrors the type
    out.join = decode(body, JOIN_CONFIGURATION_SCHEMA, '', file, kind) as DeepPartial<JoinConfiguration>;
  }
  if (!out.join) throw new ConfigError('has no JoinConfiguration document', { file, hint: 'see "kubestrap config print join-defaults"' });
  return out;
}

/** Flags onto the (defaulted) document, as kubeadm's newJoinData does. */
function applyFlags(cfg: JoinConfiguration, flags: JoinFlags, endpoints: readonly string[]): void {
  const discoveryToken = flags.discoveryToken || flags.token;
  if (endpoints.length > 0) {
    cfg.discovery.bootstrapToken = {
      token: discoveryToken ?? '',
      apiServerEndpoint: endpoints[0]!,
      caCertHashes: flags.discoveryTokenCaCertHash ?? [],
      unsafeSkipCAVerification: flags.discoveryTokenUnsafeSkipCaVerification === true,
    };
  }
  if (flags.discoveryFile) cfg.discovery.file = { kubeConfigPath: flags.discoveryFile };
  if (flags.controlPlane === true) {
    cfg.controlPlane = {
      localAPIEndpoint: { advertiseAddress: flags.apiserverAdvertiseAddress ?? '', bindPort: parsePort(flags.apiserverBindPort) },
      certificateKey: flags.certificateKey ?? '',
    };
  } else {
    // kubeadm drops these without --control-plane; saying so beats a silent worker join
    const cpOnly = (['certificateKey', 'apiserverAdvertiseAddress', 'apiserverBindPort'] as const).filter((k) => flags[k] !== undefined).map(kebab);
    if (cpOnly.length > 0) throw new ConfigError(`--${cpOnly[0]} is only used with --control-plane`, { hint: 'add --control-plane, or drop it for a worker' });
  }
  cfg.discovery.tlsBootstrapToken = flags.tlsBootstrapToken || flags.token || '';
  if (flags.criSocket) cfg.nodeRegistration.criSocket = flags.criSocket;
}

function parsePort(v: string | undefined): number {
  if (v === undefined) return DEFAULT_BIND_PORT;
  if (!/^\d+$/.test(v)) throw new ConfigError(`"${v}" is not a valid port`, { field: '--apiserver-bind-port', hint: 'use a port between 1 and 65535' });
  return Number(v);
}

/** kubeadm's defaulting that depends on other fields (SetDefaults_Discovery, _FileDiscovery) and the host. */
function fillDefaults(cfg: JoinConfiguration, flags: JoinFlags, warn: (m: string) => void): void {
  const d = cfg.discovery;
  if (!d.tlsBootstrapToken && d.bootstrapToken) d.tlsBootstrapToken = d.bootstrapToken.token;
  if (d.bootstrapToken) {
    d.bootstrapToken.caCertHashes ??= [];
    d.bootstrapToken.unsafeSkipCAVerification ??= false;
  }
  if (d.file?.kubeConfigPath.startsWith('file://')) d.file.kubeConfigPath = new URL(d.file.kubeConfigPath).pathname;
  if (flags.nodeName) cfg.nodeRegistration.name = flags.nodeName;
  if (!cfg.nodeRegistration.name) cfg.nodeRegistration.name = defaultNodeName();
  const cri = cfg.nodeRegistration.criSocket;
  if (cri === '') cfg.nodeRegistration.criSocket = DEFAULT_CRI_SOCKET;
  else if (cri.startsWith('/')) {
    warn(`Usage of CRI endpoints without URL scheme is deprecated; using "unix://${cri}"`);
    cfg.nodeRegistration.criSocket = `unix://${cri}`;
  }
  // kubeadm merges the flag's checks with the file's
  const ignore = [...cfg.nodeRegistration.ignorePreflightErrors, ...splitList(flags.ignorePreflightErrors)];
  cfg.nodeRegistration.ignorePreflightErrors = [...new Set(ignore)];
  if (flags.skipPhases !== undefined) cfg.skipPhases = splitList(flags.skipPhases);
  if (flags.dryRun === true) cfg.dryRun = true;
  // SetDefaults_JoinControlPlane + SetAPIEndpointDynamicDefaults
  const cp = cfg.controlPlane;
  if (cp) {
    cp.localAPIEndpoint.bindPort ||= DEFAULT_BIND_PORT;
    cp.localAPIEndpoint.advertiseAddress ||= defaultRouteIPv4();
    cp.certificateKey ??= '';
  }
}

/** The configuration `kubestrap join <endpoint>` runs with; throws ConfigError on the first problem. */
export function resolveJoinConfig(
  flags: JoinFlags,
  endpoints: readonly string[] = [],
  warn: (m: string) => void = (m) => void process.stderr.write(`[config] WARNING: ${m}\n`),
): ResolvedJoin {
  let loaded: LoadedJoinConfig | undefined;
  if (flags.config !== undefined) {
    const bad = (Object.keys(flags) as (keyof JoinFlags)[])
      .filter((k) => flags[k] !== undefined && flags[k] !== false && !MIXABLE_WITH_CONFIG.has(k))
      .map(kebab)
      .sort();
    if (bad.length > 0) {
      throw new ConfigError(`can not mix '--config' with arguments [${bad.join(' ')}]`, { hint: 'set them in the JoinConfiguration instead' });
    }
    loaded = parseJoinConfig(readConfigText(flags.config), flags.config);
    loaded.warnings.forEach(warn);
  }
  const cfg = overlay<JoinConfiguration>(defaultJoinConfiguration(), loaded?.join);
  if (!loaded) applyFlags(cfg, flags, endpoints);
  fillDefaults(cfg, flags, warn);
  validateJoinConfiguration(cfg, loaded?.file);
  const timeoutsMs = Object.fromEntries(Object.entries(cfg.timeouts).map(([k, v]: [string, string]) => [k, parseDuration(v)!])) as Record<
    keyof Timeouts,
    number
  >;
  return {
    join: cfg,
    configFile: loaded?.file,
    nodeName: cfg.nodeRegistration.name,
    criSocket: cfg.nodeRegistration.criSocket,
    timeoutsMs,
    ignorePreflightErrors: new Set(cfg.nodeRegistration.ignorePreflightErrors.map((s) => s.toLowerCase())),
    skipPhases: cfg.skipPhases,
    nodeKubelet: loaded?.kubelet ? { doc: loaded.kubelet, file: loaded.file } : undefined,
    agent: flags.agent === true,
    kubeletPath: flags.kubeletPath,
    nodeLocalLb: flags.nodeLocalLb === true,
    runtime: flags.runtime,
  };
}
