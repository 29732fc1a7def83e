/**
 * kubeadm v1beta4 defaults (cmd/kubeadm/app/apis/kubeadm/v1beta4/defaults.go), as complete
 * documents. Host-dependent defaults (node name, advertise address, a fresh token) are separate so
 * `config print init-defaults` can print kubeadm's fixed placeholders instead.
 */
import { randomInt } from 'node:crypto';
import { hostname } from 'node:os';
import { PORTS } from '../constants.js';
import {
  KUBEADM_API_VERSION,
  type BootstrapToken,
  type ClusterConfiguration,
  type InitConfiguration,
  type NodeRegistrationOptions,
  type Timeouts,
} from './types.js';
import { DEFAULT_IMAGE_REPOSITORY, DEFAULT_KUBERNETES_VERSION } from './versions.js';

export const DEFAULT_BIND_PORT = PORTS.apiServer;
export const DEFAULT_SERVICE_SUBNET = '10.96.0.0/12';
export const DEFAULT_DNS_DOMAIN = 'cluster.local';
export const DEFAULT_CERTIFICATES_DIR = '/etc/kubernetes/pki';
export const DEFAULT_ETCD_DATA_DIR = '/var/lib/etcd';
export const DEFAULT_CLUSTER_NAME = 'kubernetes';
export const DEFAULT_CRI_SOCKET = 'unix:///var/run/containerd/containerd.sock';
export const DEFAULT_TOKEN_TTL = '24h0m0s';
export const DEFAULT_TOKEN_USAGES: readonly string[] = ['signing', 'authentication'];
export const DEFAULT_TOKEN_GROUPS: readonly string[] = ['system:bootstrappers:kubeadm:default-node-token'];
export const DEFAULT_CERTIFICATE_VALIDITY = '8760h0m0s';
export const DEFAULT_CA_CERTIFICATE_VALIDITY = '87600h0m0s';

export { AGENT_STATE_DIR, KUBERNETES_DIR, MANIFESTS_DIR } from '../constants.js';
/** The agent's local API (root only): what the read-only port served, plus restarts for `certs renew`. */
export const AGENT_SOCKET = '/var/lib/kubestrap/agent.sock';

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  controlPlaneComponentHealthCheck: '4m0s',
  kubeletHealthCheck: '4m0s',
  kubernetesAPICall: '1m0s',
  etcdAPICall: '2m0s',
  tlsBootstrap: '5m0s',
  discovery: '5m0s',
  upgradeManifests: '5m0s',
};

export function defaultBootstrapToken(token: string): BootstrapToken {
  return { token, ttl: DEFAULT_TOKEN_TTL, usages: [...DEFAULT_TOKEN_USAGES], groups: [...DEFAULT_TOKEN_GROUPS] };
}

/** kubeadm's SetDefaults_NodeRegistration, with the host name left empty (init and join). */
export function defaultNodeRegistration(): NodeRegistrationOptions {
  return {
    name: '',
    criSocket: DEFAULT_CRI_SOCKET,
    taints: null,
    kubeletExtraArgs: [],
    ignorePreflightErrors: [],
    imagePullPolicy: 'IfNotPresent',
    imagePullSerial: true,
  };
}

/** InitConfiguration defaults with the host-dependent fields left empty (name, advertiseAddress, tokens). */
export function defaultInitConfiguration(): InitConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'InitConfiguration',
    bootstrapTokens: [],
    dryRun: false,
    nodeRegistration: defaultNodeRegistration(),
    localAPIEndpoint: { advertiseAddress: '', bindPort: DEFAULT_BIND_PORT },
    skipPhases: [],
    timeouts: { ...DEFAULT_TIMEOUTS },
  };
}

export function defaultClusterConfiguration(): ClusterConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'ClusterConfiguration',
    etcd: {},
    networking: { serviceSubnet: DEFAULT_SERVICE_SUBNET, dnsDomain: DEFAULT_DNS_DOMAIN },
    kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
    apiServer: { extraArgs: [], extraVolumes: [], extraEnvs: [], certSANs: [] },
    controllerManager: { extraArgs: [], extraVolumes: [], extraEnvs: [] },
    scheduler: { extraArgs: [], extraVolumes: [], extraEnvs: [] },
    dns: { disabled: false },
    proxy: { disabled: false },
    certificatesDir: DEFAULT_CERTIFICATES_DIR,
    imageRepository: DEFAULT_IMAGE_REPOSITORY,
    featureGates: {},
    clusterName: DEFAULT_CLUSTER_NAME,
    encryptionAlgorithm: 'RSA-2048',
    certificateValidityPeriod: DEFAULT_CERTIFICATE_VALIDITY,
    caCertificateValidityPeriod: DEFAULT_CA_CERTIFICATE_VALIDITY,
  };
}

/** kubeadm's default local etcd, used when neither `etcd.local` nor `etcd.external` is given. */
export function defaultLocalEtcd(): NonNullable<ClusterConfiguration['etcd']['local']> {
  return { dataDir: DEFAULT_ETCD_DATA_DIR, extraArgs: [], extraEnvs: [], serverCertSANs: [], peerCertSANs: [] };
}

const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}`, from a CSPRNG like kubeadm's. */
export function generateBootstrapToken(): string {
  const pick = (n: number): string => Array.from({ length: n }, () => TOKEN_CHARS[randomInt(TOKEN_CHARS.length)]).join('');
  return `${pick(6)}.${pick(16)}`;
}

/** kubeadm's default node name: the host name, lower-cased (node names must be lowercase). */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}
