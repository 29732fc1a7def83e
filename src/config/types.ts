/**
 * The kubeadm.k8s.io/v1beta4 configuration API, as far as kubestrap reads it. Field names and
 * defaults follow kubeadm so existing config files and docs carry over.
 */

export const KUBEADM_API_VERSION = 'kubeadm.k8s.io/v1beta4';

/** v1beta4 extraArgs: an ordered list, duplicates allowed; a name here replaces every default of that flag. */
export interface Arg {
  name: string;
  value: string;
}

export interface EnvVar {
  name: string;
  value: string;
}

export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice';

export interface HostPathMount {
  name: string;
  hostPath: string;
  mountPath: string;
  readOnly?: boolean;
  pathType?: HostPathType;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeRegistrationOptions {
  name: string;
  criSocket: string;
  /** null/undefined = kubeadm's default control-plane taint; [] = no taints. */
  taints: Taint[] | null;
  kubeletExtraArgs: Arg[];
  ignorePreflightErrors: string[];
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSerial: boolean;
}

export interface APIEndpoint {
  advertiseAddress: string;
  bindPort: number;
}

export interface BootstrapToken {
  token: string;
  description?: string;
  /** Go duration, e.g. "24h0m0s". */
  ttl?: string;
  expires?: string;
  usages: string[];
  groups: string[];
}

export interface Timeouts {
  controlPlaneComponentHealthCheck: string;
  kubeletHealthCheck: string;
  kubernetesAPICall: string;
  etcdAPICall: string;
  tlsBootstrap: string;
  discovery: string;
  upgradeManifests: string;
}

export interface InitConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'InitConfiguration';
  bootstrapTokens: BootstrapToken[];
  dryRun: boolean;
  nodeRegistration: NodeRegistrationOptions;
  localAPIEndpoint: APIEndpoint;
  certificateKey?: string;
  skipPhases: string[];
  patches?: { directory: string };
  timeouts: Timeouts;
}

export interface ControlPlaneComponent {
  extraArgs: Arg[];
  extraVolumes: HostPathMount[];
  extraEnvs: EnvVar[];
}

export interface APIServer extends ControlPlaneComponent {
  certSANs: string[];
}

export interface LocalEtcd {
  imageRepository?: string;
  imageTag?: string;
  dataDir: string;
  extraArgs: Arg[];
  extraEnvs: EnvVar[];
  serverCertSANs: string[];
  peerCertSANs: string[];
}

export interface ExternalEtcd {
  endpoints: string[];
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface Networking {
  serviceSubnet: string;
  podSubnet?: string;
  dnsDomain: string;
}

export type EncryptionAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'ECDSA-P256' | 'ECDSA-P384';
export const ENCRYPTION_ALGORITHMS: readonly EncryptionAlgorithm[] = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'];

export interface ClusterConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'ClusterConfiguration';
  etcd: { local?: LocalEtcd; external?: ExternalEtcd };
  networking: Networking;
  kubernetesVersion: string;
  controlPlaneEndpoint?: string;
  apiServer: APIServer;
  controllerManager: ControlPlaneComponent;
  scheduler: ControlPlaneComponent;
  dns: { imageRepository?: string; imageTag?: string; disabled: boolean };
  proxy: { disabled: boolean };
  certificatesDir: string;
  imageRepository: string;
  featureGates: Record<string, boolean>;
  clusterName: string;
  encryptionAlgorithm: EncryptionAlgorithm;
  /** Go duration, default 8760h0m0s. */
  certificateValidityPeriod: string;
  /** Go duration, default 87600h0m0s. */
  caCertificateValidityPeriod: string;
}

/** Which runtime the built-in agent uses for pods. */
export type RuntimeKind = 'cri' | 'process';

/**
 * The component configs given next to the kubeadm documents in `--config`, strictly decoded but
 * not defaulted (src/config/componentconfig adds kubeadm's defaults). Absent: the user gave none,
 * so what kubeadm generates is used and marked with its hash annotation.
 */
export interface ComponentConfigs {
  kubelet?: Record<string, unknown>;
  kubeProxy?: Record<string, unknown>;
}

/**
 * Everything a phase needs, resolved once: the two kubeadm documents with defaults applied, plus the
 * values derived from them (so no phase recomputes "the first IP of the service subnet").
 * Immutable by convention: phases read it, never change it.
 */
export interface ResolvedConfig {
  init: InitConfiguration;
  cluster: ClusterConfiguration;
  /** The config file it came from, if any (for error messages). */
  configFile?: string;
  componentConfigs: ComponentConfigs;

  nodeName: string;
  advertiseAddress: string;
  bindPort: number;
  /** `https://<advertiseAddress>:<bindPort>` (IPv6 bracketed): what local components dial. */
  localAPIServerURL: string;
  /** `https://<controlPlaneEndpoint or advertise:port>`: what admin.conf and join use. */
  clusterAPIServerURL: string;
  /** First IP of the (first) service subnet: the `kubernetes` Service ClusterIP, in apiserver.crt SANs. */
  kubernetesServiceIP: string;
  /** Tenth IP of the service subnet: the cluster DNS Service IP. */
  dnsServiceIP: string;
  /** Parsed ms of the timeouts, for code that waits. */
  timeoutsMs: Record<keyof Timeouts, number>;
  /** Parsed ms of the validity periods. */
  certificateValidityMs: number;
  caCertificateValidityMs: number;
  /** Lower-cased names of preflight errors to ignore (`all` ignores every one). */
  ignorePreflightErrors: ReadonlySet<string>;
  /** Phase paths to skip, e.g. `certs/etcd-ca`, `addon`. */
  skipPhases: readonly string[];
  /** Image of each control-plane component, for manifests and `config images list`. */
  images: {
    etcd: string;
    kubeApiserver: string;
    kubeControllerManager: string;
    kubeScheduler: string;
    pause: string;
    coredns: string;
    kubeProxy: string;
  };
  /** The etcd version the image tag names (e.g. 3.6.5), for version-dependent flags. */
  etcdVersion: string;
  /** Host paths (un-prefixed) that init writes. */
  paths: {
    kubernetesDir: string;
    manifestsDir: string;
    pkiDir: string;
    etcdDataDir: string;
    agentStateDir: string;
  };
}

/** JoinConfiguration.discovery.bootstrapToken: token discovery of the cluster CA and API server. */
export interface BootstrapTokenDiscovery {
  token: string;
  /** host:port of the API server to read cluster-info from. */
  apiServerEndpoint: string;
  /** `sha256:<hex>` pins of the CA's SubjectPublicKeyInfo; any one may match. */
  caCertHashes: string[];
  unsafeSkipCAVerification: boolean;
}

export interface JoinConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'JoinConfiguration';
  dryRun: boolean;
  nodeRegistration: NodeRegistrationOptions;
  /** Where the cluster CA is written (default /etc/kubernetes/pki/ca.crt). */
  caCertPath: string;
  discovery: {
    bootstrapToken?: BootstrapTokenDiscovery;
    /** A kubeconfig file or an https URL of one. */
    file?: { kubeConfigPath: string };
    /** The token the kubelet's TLS bootstrap uses (defaults to the discovery token). */
    tlsBootstrapToken: string;
  };
  /** Set for a control-plane join; kubestrap joins workers only so far. */
  controlPlane?: { localAPIEndpoint: APIEndpoint; certificateKey?: string };
  skipPhases: string[];
  patches?: { directory: string };
  timeouts: Timeouts;
}
