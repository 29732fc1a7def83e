/**
 * Semantic checks on the defaulted documents, kubeadm's ValidateInitConfiguration and
 * ValidateClusterConfiguration as far as kubestrap uses the fields. Types and unknown fields are the
 * loader's job; this module sees well-typed documents. The first problem is thrown as one ConfigError.
 */
import { isIP } from 'node:net';
import { PULL_POLICIES } from '../constants.js';
import { ConfigError, type ErrorPlace } from '../errors.js';
import { parseDuration } from './duration.js';
import { hostBits, parseCIDR, parseIP, splitHostPort, type ParsedCIDR } from './net.js';
import {
  type APIEndpoint,
  type BootstrapToken,
  ENCRYPTION_ALGORITHMS,
  type Arg,
  type ClusterConfiguration,
  type ControlPlaneComponent,
  type EnvVar,
  type HostPathMount,
  type InitConfiguration,
  type NodeRegistrationOptions,
  type Timeouts,
} from './types.js';
import { DEFAULT_KUBERNETES_VERSION, minorOf, releaseOf, SUPPORTED_MINORS_TEXT } from './versions.js';

/** Where a field's value came from: the config file or a flag. Builds the error's file/field. */
export type Placer = (field: string) => ErrorPlace;

export type Check = (field: string, message: string, hint?: string) => never;

export const BOOTSTRAP_TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CERTIFICATE_KEY_RE = /^[0-9a-f]{64}$/i;
const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const WILDCARD_DNS_RE = new RegExp(`^\\*\\.${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
export const VERSION_RE = /^v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const BOOTSTRAP_GROUP_RE = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;
const TOKEN_USAGES = ['signing', 'authentication'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];
/** kubeadm: the service subnet may have at most 20 host bits (/12 for IPv4, /108 for IPv6). */
const MAX_SERVICE_SUBNET_HOST_BITS = 20;

export function isDNS1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN_RE.test(name);
}

/** A valid certificate SAN: an IP, a DNS name, or a wildcard DNS name. */
export function isValidSAN(san: string): boolean {
  return isIP(san) !== 0 || isDNS1123Subdomain(san) || (san.length <= 253 && WILDCARD_DNS_RE.test(san));
}

function isUnicast(ip: string): boolean {
  const parsed = parseIP(ip);
  if (!parsed || parsed.value === 0n) return false;
  if (parsed.family === 4) return parsed.value >> 28n !== 0xen && parsed.value !== 0xffffffffn;
  return parsed.value >> 120n !== 0xffn;
}

/**
 * One subnet or a dual-stack pair ("10.244.0.0/16,fd00::/48"), as kubeadm's ValidateIPNetFromString.
 * Returns the parsed CIDRs.
 */
function checkSubnets(value: string, field: string, fail: Check): ParsedCIDR[] {
  const parts = value.split(',').map((s) => s.trim());
  const cidrs = parts.map((p) => {
    const c = parseCIDR(p);
    if (!c) fail(field, `"${p}" is not a valid CIDR`, 'use a CIDR like 10.96.0.0/12 or fd00::/108');
    return c!;
  });
  if (cidrs.length > 2 || (cidrs.length === 2 && cidrs[0]!.family === cidrs[1]!.family)) {
    fail(field, `"${value}" must be one CIDR or a dual-stack pair (one IPv4, one IPv6)`);
  }
  return cidrs;
}

function checkArgs(args: Arg[], field: string, fail: Check): void {
  args.forEach((a, i) => {
    if (!a.name) fail(`${field}[${i}].name`, 'is required');
    if (a.name.startsWith('-')) fail(`${field}[${i}].name`, `"${a.name}" must not start with "-"`, `write "${a.name.replace(/^-+/, '')}"`);
    if (a.value === undefined) fail(`${field}[${i}].value`, 'is required', 'use value: "" for an empty value');
  });
}

function checkEnvs(envs: EnvVar[], field: string, fail: Check): void {
  envs.forEach((e, i) => {
    if (!e.name) fail(`${field}[${i}].name`, 'is required');
  });
}

function checkVolumes(volumes: HostPathMount[], field: string, fail: Check): void {
  volumes.forEach((v, i) => {
    for (const key of ['name', 'hostPath', 'mountPath'] as const) {
      if (!v[key]) fail(`${field}[${i}].${key}`, 'is required');
    }
    if (!v.mountPath.startsWith('/')) fail(`${field}[${i}].mountPath`, `"${v.mountPath}" must be an absolute path`);
    if (v.pathType !== undefined && !PATH_TYPES.includes(v.pathType)) {
      fail(`${field}[${i}].pathType`, `"${v.pathType}" is not a host path type`, `use one of ${PATH_TYPES.filter(Boolean).join(', ')}`);
    }
  });
}

function checkComponent(c: ControlPlaneComponent, field: string, fail: Check): void {
  checkArgs(c.extraArgs, `${field}.extraArgs`, fail);
  checkVolumes(c.extraVolumes, `${field}.extraVolumes`, fail);
  checkEnvs(c.extraEnvs, `${field}.extraEnvs`, fail);
}

function checkSANs(sans: string[], field: string, fail: Check): void {
  sans.forEach((san, i) => {
    if (!isValidSAN(san)) fail(`${field}[${i}]`, `"${san}" is not a valid IP address or DNS name`);
  });
}

export function checkDuration(value: string | undefined, field: string, fail: Check): void {
  if (value === undefined) return;
  const ms = parseDuration(value);
  if (ms === undefined) fail(field, `"${value}" is not a valid duration`, 'use a Go duration like 24h0m0s, 4m or 500ms');
}

function checkPort(port: number, field: string, fail: Check): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(field, `${port} is not a valid port`, 'use a port between 1 and 65535');
}

function checkAbsolute(path: string, field: string, fail: Check): void {
  if (!path.startsWith('/')) fail(field, `"${path}" must be an absolute path`);
}

export function checkKubernetesVersion(version: string, field: string, fail: Check): void {
  // An unsupported minor is named as such even in a label (`1.33`, `stable-1.33`), so the user
  // learns which minors exist rather than how to spell a version.
  const minor = minorOf(version);
  const major = /^(?:(?:stable|latest)-)?v?(\d+)\./.exec(version)?.[1];
  if (!Number.isNaN(minor) && (major !== '1' || !releaseOf(version))) {
    fail(field, `Kubernetes ${version} is not supported`, `kubestrap supports ${SUPPORTED_MINORS_TEXT}; use e.g. ${DEFAULT_KUBERNETES_VERSION}`);
  }
  if (!VERSION_RE.test(version)) {
    fail(field, `"${version}" is not a valid Kubernetes version`, `use a version like ${DEFAULT_KUBERNETES_VERSION}, 1.36 or stable-1.36`);
  }
}

/** kubeadm's ValidateBootstrapTokens for one token; `f` prefixes its field names (`bootstrapTokens[0].`). */
function checkBootstrapToken(t: BootstrapToken, f: string, fail: Check): void {
  if (!BOOTSTRAP_TOKEN_RE.test(t.token)) {
    fail(`${f}token`, `"${t.token}" is not a valid bootstrap token`, 'a token looks like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16})');
  }
  checkDuration(t.ttl, `${f}ttl`, fail);
  if (t.expires !== undefined && Number.isNaN(Date.parse(t.expires))) fail(`${f}expires`, `"${t.expires}" is not an RFC 3339 time`);
  t.usages.forEach((u, j) => {
    if (!TOKEN_USAGES.includes(u)) fail(`${f}usages[${j}]`, `"${u}" is not a token usage`, `use ${TOKEN_USAGES.join(' or ')}`);
  });
  // extra groups only mean something to the token authenticator
  if (t.groups.length > 0 && !t.usages.includes('authentication')) {
    fail(`${f}groups`, 'token groups cannot be specified unless the usages include "authentication"', 'add the authentication usage or drop the groups');
  }
  t.groups.forEach((g, j) => {
    if (!BOOTSTRAP_GROUP_RE.test(g)) fail(`${f}groups[${j}]`, `"${g}" is not a bootstrap group`, `groups must match ${BOOTSTRAP_GROUP_RE.source}`);
  });
}

/** One bootstrap token (`kubestrap token create`); fields are named `token`, `ttl`, `usages[i]`, `groups[i]`. */
export function validateBootstrapToken(t: BootstrapToken, place: Placer): void {
  checkBootstrapToken(t, '', thrower(place));
}

/** NodeRegistrationOptions, shared by InitConfiguration and JoinConfiguration (kubeadm's ValidateNodeRegistrationOptions). */
export function validateNodeRegistration(nr: NodeRegistrationOptions, fail: Check): void {
  if (!isDNS1123Subdomain(nr.name)) {
    fail('nodeRegistration.name', `"${nr.name}" is not a valid node name`, 'use a lowercase RFC 1123 subdomain (a-z, 0-9, "-" and ".")');
  }
  if (!/^(unix|npipe|tcp):\/\//.test(nr.criSocket)) {
    fail('nodeRegistration.criSocket', `"${nr.criSocket}" is not a CRI endpoint URL`, 'use e.g. unix:///var/run/containerd/containerd.sock');
  }
  (nr.taints ?? []).forEach((t, i) => {
    if (!t.key) fail(`nodeRegistration.taints[${i}].key`, 'is required');
    if (!TAINT_EFFECTS.includes(t.effect)) {
      fail(`nodeRegistration.taints[${i}].effect`, `"${t.effect}" is not a taint effect`, `use one of ${TAINT_EFFECTS.join(', ')}`);
    }
  });
  checkArgs(nr.kubeletExtraArgs, 'nodeRegistration.kubeletExtraArgs', fail);
  if (!(PULL_POLICIES as readonly string[]).includes(nr.imagePullPolicy)) {
    fail('nodeRegistration.imagePullPolicy', `"${nr.imagePullPolicy}" is not an image pull policy`, `use one of ${PULL_POLICIES.join(', ')}`);
  }
  const ignored = nr.ignorePreflightErrors.map((s) => s.toLowerCase());
  if (ignored.includes('all') && ignored.length > 1) {
    fail('nodeRegistration.ignorePreflightErrors', '"all" cannot be combined with individual checks', 'use either "all" or a list of checks');
  }
}

/** kubeadm's ValidateAPIEndpoint: a unicast IP to advertise and a port (init's localAPIEndpoint, join's controlPlane.localAPIEndpoint). */
export function validateAPIEndpoint(ep: APIEndpoint, field: string, fail: Check): void {
  if (!isIP(ep.advertiseAddress)) {
    fail(`${field}.advertiseAddress`, `"${ep.advertiseAddress}" is not a valid IP address`, 'use an IPv4 or IPv6 address of this host');
  }
  if (!isUnicast(ep.advertiseAddress)) {
    fail(`${field}.advertiseAddress`, `"${ep.advertiseAddress}" is not a unicast address`, 'use an address of this host other than 0.0.0.0 or ::');
  }
  checkPort(ep.bindPort, `${field}.bindPort`, fail);
}

/** An empty key is fine (none given); else kubeadm's 32 bytes, hex. */
export function checkCertificateKey(key: string | undefined, field: string, fail: Check, hint: string): void {
  if (key !== undefined && key !== '' && !CERTIFICATE_KEY_RE.test(key)) fail(field, 'is not 64 hexadecimal characters', hint);
}

function validateInit(init: InitConfiguration, fail: Check): void {
  init.bootstrapTokens.forEach((t, i) => checkBootstrapToken(t, `bootstrapTokens[${i}].`, fail));

  validateNodeRegistration(init.nodeRegistration, fail);

  validateAPIEndpoint(init.localAPIEndpoint, 'localAPIEndpoint', fail);
  checkCertificateKey(init.certificateKey, 'certificateKey', fail, 'generate one with "kubeadm certs certificate-key" or openssl rand -hex 32');
  for (const [key, value] of Object.entries(init.timeouts) as [keyof Timeouts, string][]) {
    checkDuration(value, `timeouts.${key}`, fail);
  }
}

function validateCluster(cluster: ClusterConfiguration, fail: Check): void {
  checkKubernetesVersion(cluster.kubernetesVersion, 'kubernetesVersion', fail);

  const net = cluster.networking;
  for (const cidr of checkSubnets(net.serviceSubnet, 'networking.serviceSubnet', fail)) {
    if (hostBits(cidr) > MAX_SERVICE_SUBNET_HOST_BITS) {
      fail('networking.serviceSubnet', `"${net.serviceSubnet}" is too large`, 'use at most a /12 for IPv4 or a /108 for IPv6');
    }
  }
  if (net.podSubnet !== undefined && net.podSubnet !== '') checkSubnets(net.podSubnet, 'networking.podSubnet', fail);
  if (!isDNS1123Subdomain(net.dnsDomain)) fail('networking.dnsDomain', `"${net.dnsDomain}" is not a valid DNS domain`, 'use e.g. cluster.local');

  if (cluster.controlPlaneEndpoint) {
    const { host, port } = splitHostPort(cluster.controlPlaneEndpoint);
    if (!isIP(host) && !isDNS1123Subdomain(host)) {
      fail(
        'controlPlaneEndpoint',
        `"${cluster.controlPlaneEndpoint}" is not a valid host or host:port`,
        'use an IP address or DNS name, optionally with :port',
      );
    }
    if (port !== undefined) checkPort(/^\d+$/.test(port) ? Number(port) : Number.NaN, 'controlPlaneEndpoint', fail);
  }

  const { local, external } = cluster.etcd;
  if (local && external) fail('etcd', 'local and external are mutually exclusive', 'set only one of etcd.local or etcd.external');
  if (local) {
    checkAbsolute(local.dataDir, 'etcd.local.dataDir', fail);
    checkArgs(local.extraArgs, 'etcd.local.extraArgs', fail);
    checkEnvs(local.extraEnvs, 'etcd.local.extraEnvs', fail);
    checkSANs(local.serverCertSANs, 'etcd.local.serverCertSANs', fail);
    checkSANs(local.peerCertSANs, 'etcd.local.peerCertSANs', fail);
  }
  if (external) {
    if (external.endpoints.length === 0) fail('etcd.external.endpoints', 'needs at least one endpoint');
    external.endpoints.forEach((e, i) => {
      if (!/^https?:\/\/[^/]+/.test(e)) fail(`etcd.external.endpoints[${i}]`, `"${e}" is not an http(s) URL`);
    });
    for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
      if (external.endpoints.some((e) => e.startsWith('https:')) && !external[key]) {
        fail(`etcd.external.${key}`, 'is required for https endpoints');
      }
    }
  }

  checkComponent(cluster.apiServer, 'apiServer', fail);
  checkSANs(cluster.apiServer.certSANs, 'apiServer.certSANs', fail);
  checkComponent(cluster.controllerManager, 'controllerManager', fail);
  checkComponent(cluster.scheduler, 'scheduler', fail);

  checkAbsolute(cluster.certificatesDir, 'certificatesDir', fail);
  if (!cluster.imageRepository) fail('imageRepository', 'must not be empty');
  if (!cluster.clusterName) fail('clusterName', 'must not be empty');
  if (!ENCRYPTION_ALGORITHMS.includes(cluster.encryptionAlgorithm)) {
    fail('encryptionAlgorithm', `"${cluster.encryptionAlgorithm}" is not supported`, `use one of ${ENCRYPTION_ALGORITHMS.join(', ')}`);
  }
  for (const key of ['certificateValidityPeriod', 'caCertificateValidityPeriod'] as const) {
    checkDuration(cluster[key], key, fail);
    if (parseDuration(cluster[key]) === 0) fail(key, 'must be longer than 0s');
  }
}

export function thrower(place: Placer): Check {
  return (field, message, hint) => {
    throw new ConfigError(message, { ...place(field), ...(hint ? { hint } : {}) });
  };
}

/** Throws the first problem of the two documents as a ConfigError placed by `place`. */
export function validateConfig(init: InitConfiguration, cluster: ClusterConfiguration, place: Placer): void {
  validateInit(init, thrower(place));
  validateCluster(cluster, thrower(place));
}

/** ClusterConfiguration alone, for commands that need no node (`config images list`). */
export function validateClusterConfiguration(cluster: ClusterConfiguration, place: Placer): void {
  validateCluster(cluster, thrower(place));
}
