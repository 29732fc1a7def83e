/**
 * `kubestrap agent` configuration: kubelet-compatible flags plus a KubeletConfiguration-style file
 * (`--config`, kubelet.config.k8s.io/v1beta1) holding the static-pod subset. Flags override the
 * file; the file overrides defaults. Unknown fields are errors (naming field and file), so a typo
 * never silently turns a source off.
 */
import { access } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { AGENT_READ_ONLY_PORT, PORTS } from '../constants.js';
import { KUBELET_CONFIGURATION_API_VERSION } from '../config/componentconfig/kubelet.js';
import { AGENT_STATE_DIR, DEFAULT_CRI_SOCKET, MANIFESTS_DIR } from '../config/defaults.js';
import { parseDuration } from '../config/duration.js';
import { ConfigError, messageOf } from '../errors.js';
import { Host } from '../host/host.js';
import { parseUpstream } from '../lb/balancer.js';
import type { RuntimeName } from './runtime/types.js';

/** commander's view of the flags (camelCase of the flag names). */
export interface AgentFlags {
  config?: string;
  podManifestPath?: string;
  manifestUrl?: string;
  manifestUrlHeader?: string[];
  hostnameOverride?: string;
  nodeName?: string;
  nodeIp?: string;
  containerRuntimeEndpoint?: string;
  kubeconfig?: string;
  bootstrapKubeconfig?: string;
  certDir?: string;
  registerWithTaints?: string;
  rootfs?: string;
  runtime?: string;
  readOnlyPort?: string;
  port?: string;
  clientCaFile?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  stopPodsOnExit?: boolean;
  stateDir?: string;
  /** The node-local API balancer's seeds (host:port, repeatable): the agent runs it on 127.0.0.1:7443. */
  apiLbSeed?: string[];
}

export interface FlagSpec {
  flags: string;
  help: string;
  /** Repeatable flag: values are collected into a list. */
  repeatable?: boolean;
}

export const AGENT_FLAGS: readonly FlagSpec[] = [
  {
    flags: '--config <file>',
    help: 'KubeletConfiguration-style file (staticPodPath, staticPodURL, staticPodURLHeader, fileCheckFrequency, httpCheckFrequency, readOnlyPort)',
  },
  { flags: '--pod-manifest-path <path>', help: `directory (or file) of static pod manifests (default ${MANIFESTS_DIR} when no URL is given)` },
  { flags: '--manifest-url <url>', help: 'URL to poll for a Pod or PodList' },
  { flags: '--manifest-url-header <key:value,...>', help: 'HTTP headers for --manifest-url, e.g. "a:hello,b:again" (repeatable)', repeatable: true },
  { flags: '--hostname-override <name>', help: 'node name to use instead of the host name' },
  { flags: '--node-name <name>', help: 'same as --hostname-override' },
  { flags: '--node-ip <ip>', help: "the node's InternalIP (default: the kubeconfig server's IP, else the first non-loopback IPv4)" },
  { flags: '--container-runtime-endpoint <endpoint>', help: `CRI endpoint for --runtime cri (default ${DEFAULT_CRI_SOCKET})` },
  { flags: '--kubeconfig <file>', help: 'kubeconfig for the API server (node registration and mirror pods)' },
  {
    flags: '--bootstrap-kubeconfig <file>',
    help: 'kubeconfig with a bootstrap token: when --kubeconfig is missing or its certificate unusable, request a node client certificate with it (TLS bootstrap) and write --kubeconfig',
  },
  {
    flags: '--register-with-taints <key=value:Effect,...>',
    help: 'taints the Node is registered with (NodeRestriction allows them only at registration), e.g. "dedicated=edge:NoSchedule"',
  },
  { flags: '--cert-dir <dir>', help: `where the bootstrapped client certificate is kept and rotated (default ${'/var/lib/kubelet/pki'})` },
  { flags: '--rootfs <dir>', help: 'put every host path (/etc/kubernetes, /var/lib/kubestrap, /var/log/pods, ...) under this directory' },
  { flags: '--runtime <runtime>', help: 'how pods run: process or cri (default: cri when the CRI socket exists, else process)' },
  {
    flags: '--read-only-port <port>',
    help: `port of the unauthenticated read-only HTTP server on 127.0.0.1 (default off, as kubeadm's kubelet; the kubelet's legacy port is ${10255}); the root-only socket serves the same`,
  },
  {
    flags: '--port <port>',
    help: `port of the kubelet API (HTTPS, client certificates, SubjectAccessReview) on all addresses (default ${10250}; 0 disables it)`,
  },
  { flags: '--client-ca-file <file>', help: 'CA that client certificates of the kubelet API must be signed by (default /etc/kubernetes/pki/ca.crt)' },
  {
    flags: '--tls-cert-file <file>',
    help: `serving certificate of the kubelet API (default: ${'/var/lib/kubestrap/pki/kubelet.crt'}, made and signed by the cluster CA when missing)`,
  },
  { flags: '--tls-private-key-file <file>', help: 'key of --tls-cert-file' },
  { flags: '--stop-pods-on-exit', help: 'stop every pod when the agent exits (default: leave them running, like the kubelet)' },
  { flags: '--state-dir <dir>', help: `checkpoint directory (host path, default ${AGENT_STATE_DIR})` },
  {
    flags: '--api-lb-seed <host:port>',
    help: `run the node-local API balancer on 127.0.0.1:${PORTS.apiLoadBalancer} with this API server (or controlPlaneEndpoint) as seed, following the kubernetes EndpointSlice with --kubeconfig; repeatable`,
    repeatable: true,
  },
];

export const DEFAULT_READ_ONLY_PORT = AGENT_READ_ONLY_PORT;
/** The kubelet's `port`: its authenticated HTTPS API, where the API server fetches logs. */
export const DEFAULT_KUBELET_PORT = PORTS.kubeletApi;
export const DEFAULT_CLIENT_CA_FILE = '/etc/kubernetes/pki/ca.crt';
/** Like the kubelet's /var/lib/kubelet/pki/kubelet.crt, but signed by the cluster CA. */
export const DEFAULT_TLS_CERT_FILE = '/var/lib/kubestrap/pki/kubelet.crt';
export const DEFAULT_TLS_KEY_FILE = '/var/lib/kubestrap/pki/kubelet.key';
/** The kubelet's fileCheckFrequency and httpCheckFrequency defaults. */
export const DEFAULT_CHECK_FREQUENCY_MS = 20_000;
/** The kubelet's --cert-dir default. */
export const DEFAULT_CERT_DIR = '/var/lib/kubelet/pki';

/** The resolved agent configuration. Host paths are as on the host; `host` maps them under rootfs. */
export interface AgentConfig {
  host: Host;
  nodeName: string;
  /** --node-ip; undefined = derive it (see commands/agent.ts). */
  nodeIP?: string;
  runtime: RuntimeName;
  containerRuntimeEndpoint: string;
  kubeconfig?: string;
  /** --bootstrap-kubeconfig (host path): TLS bootstrap when `kubeconfig` is not usable. */
  bootstrapKubeconfig?: string;
  /** --cert-dir (host path, default DEFAULT_CERT_DIR): the client certificate store of a bootstrapped node. */
  certDir?: string;
  /** --register-with-taints. */
  registerTaints?: Taint[];
  /** Host path of the manifest directory or file; undefined when only a URL is used. */
  staticPodPath?: string;
  staticPodURL?: string;
  staticPodURLHeader: Record<string, string[]>;
  fileCheckFrequencyMs: number;
  httpCheckFrequencyMs: number;
  /** 0 = no read-only server. */
  readOnlyPort: number;
  stopPodsOnExit: boolean;
  stateDir: string;
  /** Host path of the local API's unix socket (default AGENT_SOCKET). */
  socketPath?: string;
  /** The kubelet API (HTTPS); 0 or absent = off. */
  kubeletPort?: number;
  /** Host paths (defaults DEFAULT_CLIENT_CA_FILE, DEFAULT_TLS_*). */
  clientCAFile?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  /** --api-lb-seed: run the node-local API balancer with these seeds (empty: not at all). */
  apiLbSeeds?: { host: string; port: number }[];
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

const TAINT_EFFECTS: readonly Taint['effect'][] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** The kubelet's `--register-with-taints`: `key[=value]:Effect`, comma-separated. */
export function parseTaints(text: string): Taint[] {
  return text
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((spec) => {
      const m = /^([^=:\s]+)(?:=([^:\s]*))?:([A-Za-z]+)$/.exec(spec.trim());
      const effect = m?.[3] as Taint['effect'] | undefined;
      if (!m || !effect || !TAINT_EFFECTS.includes(effect)) {
        throw new ConfigError(`"${spec}" is not a taint`, {
          field: '--register-with-taints',
          hint: `use key=value:Effect with Effect one of ${TAINT_EFFECTS.join(', ')}`,
        });
      }
      return m[2] ? { key: m[1]!, value: m[2], effect } : { key: m[1]!, effect };
    });
}

/** The static-pod subset of KubeletConfiguration this agent reads. */
interface KubeletConfigFile {
  staticPodPath?: string;
  staticPodURL?: string;
  staticPodURLHeader?: Record<string, string[]>;
  fileCheckFrequency?: number;
  httpCheckFrequency?: number;
  readOnlyPort?: number;
  containerRuntimeEndpoint?: string;
}

type FieldReader = (value: unknown, file: string, field: string) => unknown;

const readString: FieldReader = (v, file, field) => {
  if (typeof v !== 'string') throw new ConfigError('must be a string', { file, field });
  return v;
};
const readDuration: FieldReader = (v, file, field) => {
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined || ms <= 0)
    throw new ConfigError(`${JSON.stringify(v)} is not a positive duration`, { file, field, hint: 'use a Go duration such as "20s" or "1m"' });
  return ms;
};
const readPort: FieldReader = (v, file, field) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)
    throw new ConfigError(`${JSON.stringify(v)} is not a port`, { file, field, hint: 'use 0-65535 (0 disables it)' });
  return v;
};
const readHeaders: FieldReader = (v, file, field) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError('must be a mapping of header name to a list of values', { file, field });
  const out: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(v)) {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new ConfigError('must be a list of strings', { file, field: `${field}.${k}`, hint: `e.g. ${k}: ["value"]` });
    }
    out[k] = list as string[];
  }
  return out;
};

/** Every field the file may hold, with its reader: the table is the schema. */
const FILE_FIELDS: Readonly<Record<keyof KubeletConfigFile, FieldReader>> = {
  staticPodPath: readString,
  staticPodURL: readString,
  staticPodURLHeader: readHeaders,
  fileCheckFrequency: readDuration,
  httpCheckFrequency: readDuration,
  readOnlyPort: readPort,
  containerRuntimeEndpoint: readString,
};

/** The agent reads the kubelet's config API (one home: the kubelet component config). */
export const KUBELET_CONFIG_API_VERSION = KUBELET_CONFIGURATION_API_VERSION;

/**
 * Parses a KubeletConfiguration-style document; `file` names it in errors. `yaml` (its error
 * positions) is loaded only for a --config file: most agents have none, and it is 3 MiB of RSS.
 */
export async function parseKubeletConfig(text: string, file: string): Promise<KubeletConfigFile> {
  const { parseDocument } = await import('../util/yaml-lazy.js');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { file });
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('must be a KubeletConfiguration mapping', { file });
  const obj = raw as Record<string, unknown>;
  if (obj.apiVersion !== KUBELET_CONFIG_API_VERSION) {
    throw new ConfigError(`is ${JSON.stringify(obj.apiVersion ?? null)}`, { file, field: 'apiVersion', hint: `use ${KUBELET_CONFIG_API_VERSION}` });
  }
  if (obj.kind !== 'KubeletConfiguration') {
    throw new ConfigError(`is ${JSON.stringify(obj.kind ?? null)}`, { file, field: 'kind', hint: 'use KubeletConfiguration' });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    const reader = (FILE_FIELDS as Record<string, FieldReader | undefined>)[key];
    if (!reader) {
      throw new ConfigError('unknown field', { file, field: key, hint: `the agent reads only ${Object.keys(FILE_FIELDS).join(', ')}` });
    }
    if (value !== null && value !== undefined) out[key] = reader(value, file, key);
  }
  return out as KubeletConfigFile;
}

/** `--manifest-url-header 'a:hello,b:again'` (repeatable), the kubelet's syntax. */
export function parseHeaderFlags(values: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const value of values) {
    for (const pair of value.split(',')) {
      if (pair.trim() === '') continue;
      const colon = pair.indexOf(':');
      if (colon <= 0)
        throw new ConfigError(`"${pair}" is not key:value`, { field: '--manifest-url-header', hint: "e.g. --manifest-url-header 'Authorization:Bearer x'" });
      (out[pair.slice(0, colon).trim()] ??= []).push(pair.slice(colon + 1));
    }
  }
  return out;
}

function parsePortFlag(text: string, field = '--read-only-port'): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new ConfigError(`"${text}" is not a port`, { field, hint: 'use 0-65535 (0 disables it)' });
  return n;
}

/** The CRI endpoint is a real socket path (containerd is shared), never under --rootfs. */
async function socketExists(endpoint: string): Promise<boolean> {
  if (!endpoint.startsWith('unix://')) return false;
  return access(endpoint.slice('unix://'.length)).then(
    () => true,
    () => false,
  );
}

/** Flags + file + defaults → AgentConfig; every input is checked before anything starts. */
export async function resolveAgentConfig(flags: AgentFlags, readFile: (p: string) => Promise<string>): Promise<AgentConfig> {
  let file: KubeletConfigFile = {};
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.config);
    } catch (err) {
      throw new ConfigError(`cannot read: ${messageOf(err)}`, { cause: err, file: flags.config, hint: 'pass an existing file to --config' });
    }
    file = await parseKubeletConfig(text, flags.config);
  }
  const host = new Host(flags.rootfs ?? '/');

  const nodeName = (flags.hostnameOverride ?? flags.nodeName ?? hostname().toLowerCase()).trim();
  if (flags.hostnameOverride !== undefined && flags.nodeName !== undefined && flags.hostnameOverride !== flags.nodeName) {
    throw new ConfigError('--hostname-override and --node-name disagree', { hint: 'give only one of them' });
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i.test(nodeName) || nodeName.length > 253) {
    throw new ConfigError(`"${nodeName}" is not a valid node name`, { field: '--hostname-override', hint: 'lowercase letters, digits, "-" and "."' });
  }

  if (flags.nodeIp !== undefined && isIP(flags.nodeIp) === 0) {
    throw new ConfigError(`"${flags.nodeIp}" is not an IP address`, { field: '--node-ip' });
  }

  const staticPodURL = flags.manifestUrl ?? file.staticPodURL;
  if (staticPodURL !== undefined && !/^https?:\/\//.test(staticPodURL)) {
    throw new ConfigError(`"${staticPodURL}" is not an http(s) URL`, {
      field: flags.manifestUrl ? '--manifest-url' : 'staticPodURL',
      file: flags.manifestUrl ? undefined : flags.config,
    });
  }
  let staticPodPath = flags.podManifestPath ?? file.staticPodPath;
  // kubeadm's layout: with no source at all, read the kubeadm manifest directory.
  if (staticPodPath === undefined && staticPodURL === undefined) staticPodPath = MANIFESTS_DIR;
  if (staticPodPath !== undefined) {
    staticPodPath = staticPodPath.replace(/(.)\/+$/, '$1');
    if (!staticPodPath.startsWith('/')) {
      throw new ConfigError(`"${staticPodPath}" is not an absolute path`, {
        field: flags.podManifestPath ? '--pod-manifest-path' : 'staticPodPath',
        file: flags.podManifestPath ? undefined : flags.config,
      });
    }
  }

  const headers = flags.manifestUrlHeader?.length ? parseHeaderFlags(flags.manifestUrlHeader) : (file.staticPodURLHeader ?? {});
  const endpoint = flags.containerRuntimeEndpoint ?? file.containerRuntimeEndpoint ?? DEFAULT_CRI_SOCKET;

  let runtime: RuntimeName;
  if (flags.runtime === undefined) runtime = (await socketExists(endpoint)) ? 'cri' : 'process';
  else if (flags.runtime === 'process' || flags.runtime === 'cri') runtime = flags.runtime;
  else throw new ConfigError(`"${flags.runtime}" is not a runtime`, { field: '--runtime', hint: 'use process or cri' });

  if (flags.bootstrapKubeconfig !== undefined && flags.kubeconfig === undefined) {
    throw new ConfigError('needs --kubeconfig', {
      field: '--bootstrap-kubeconfig',
      hint: 'give --kubeconfig, the file the bootstrap writes (e.g. /etc/kubernetes/kubelet.conf)',
    });
  }
  const certDir = (flags.certDir ?? DEFAULT_CERT_DIR).replace(/(.)\/+$/, '$1');
  if (!certDir.startsWith('/')) throw new ConfigError(`"${certDir}" is not an absolute path`, { field: '--cert-dir' });

  const stateDir = flags.stateDir ?? AGENT_STATE_DIR;
  if (!stateDir.startsWith('/')) throw new ConfigError(`"${stateDir}" is not an absolute path`, { field: '--state-dir' });

  return {
    host,
    nodeName,
    nodeIP: flags.nodeIp,
    runtime,
    containerRuntimeEndpoint: endpoint,
    kubeconfig: flags.kubeconfig,
    bootstrapKubeconfig: flags.bootstrapKubeconfig,
    certDir,
    registerTaints: flags.registerWithTaints !== undefined ? parseTaints(flags.registerWithTaints) : undefined,
    staticPodPath,
    staticPodURL,
    staticPodURLHeader: headers,
    fileCheckFrequencyMs: file.fileCheckFrequency ?? DEFAULT_CHECK_FREQUENCY_MS,
    httpCheckFrequencyMs: file.httpCheckFrequency ?? DEFAULT_CHECK_FREQUENCY_MS,
    readOnlyPort: flags.readOnlyPort !== undefined ? parsePortFlag(flags.readOnlyPort) : (file.readOnlyPort ?? 0),
    stopPodsOnExit: flags.stopPodsOnExit === true,
    stateDir,
    kubeletPort: flags.port !== undefined ? parsePortFlag(flags.port, '--port') : DEFAULT_KUBELET_PORT,
    clientCAFile: flags.clientCaFile ?? DEFAULT_CLIENT_CA_FILE,
    apiLbSeeds: (flags.apiLbSeed ?? []).map((s) => parseUpstream(s, '--api-lb-seed')),
    tlsCertFile: flags.tlsCertFile ?? DEFAULT_TLS_CERT_FILE,
    tlsPrivateKeyFile: flags.tlsPrivateKeyFile ?? (flags.tlsCertFile ? flags.tlsCertFile.replace(/\.crt$/, '.key') : DEFAULT_TLS_KEY_FILE),
  };
}
