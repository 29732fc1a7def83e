/**
 * The shape of the kubeadm.k8s.io/v1beta4 documents kubestrap reads, as data: the loader walks a
 * parsed YAML document against it to report unknown fields and wrong types by their dotted path,
 * like kubeadm's strict decoding does.
 */

export type Schema =
  | { type: 'string' }
  | { type: 'int' }
  | { type: 'bool' }
  | { type: 'object'; fields: Readonly<Record<string, Schema>> }
  | { type: 'list'; of: Schema }
  | { type: 'map'; of: Schema };

const str: Schema = { type: 'string' };
const int: Schema = { type: 'int' };
const bool: Schema = { type: 'bool' };
const obj = (fields: Record<string, Schema>): Schema => ({ type: 'object', fields });
const list = (of: Schema): Schema => ({ type: 'list', of });
const map = (of: Schema): Schema => ({ type: 'map', of });

const typeMeta = { apiVersion: str, kind: str };
const args = list(obj({ name: str, value: str }));
const envs = list(obj({ name: str, value: str }));
const volumes = list(obj({ name: str, hostPath: str, mountPath: str, readOnly: bool, pathType: str }));
const component = { extraArgs: args, extraVolumes: volumes, extraEnvs: envs };
const timeouts = obj({
  controlPlaneComponentHealthCheck: str,
  kubeletHealthCheck: str,
  kubernetesAPICall: str,
  etcdAPICall: str,
  tlsBootstrap: str,
  discovery: str,
  upgradeManifests: str,
});

const nodeRegistration = obj({
  name: str,
  criSocket: str,
  taints: list(obj({ key: str, value: str, effect: str, timeAdded: str })),
  kubeletExtraArgs: args,
  ignorePreflightErrors: list(str),
  imagePullPolicy: str,
  imagePullSerial: bool,
});
const apiEndpoint = obj({ advertiseAddress: str, bindPort: int });

export const INIT_CONFIGURATION_SCHEMA: Schema = obj({
  ...typeMeta,
  bootstrapTokens: list(obj({ token: str, description: str, ttl: str, expires: str, usages: list(str), groups: list(str) })),
  dryRun: bool,
  nodeRegistration,
  localAPIEndpoint: apiEndpoint,
  certificateKey: str,
  skipPhases: list(str),
  patches: obj({ directory: str }),
  timeouts,
});

export const JOIN_CONFIGURATION_SCHEMA: Schema = obj({
  ...typeMeta,
  dryRun: bool,
  nodeRegistration,
  caCertPath: str,
  discovery: obj({
    bootstrapToken: obj({ token: str, apiServerEndpoint: str, caCertHashes: list(str), unsafeSkipCAVerification: bool }),
    file: obj({ kubeConfigPath: str }),
    tlsBootstrapToken: str,
  }),
  controlPlane: obj({ localAPIEndpoint: apiEndpoint, certificateKey: str }),
  skipPhases: list(str),
  patches: obj({ directory: str }),
  timeouts,
});

export const CLUSTER_CONFIGURATION_SCHEMA: Schema = obj({
  ...typeMeta,
  etcd: obj({
    local: obj({
      imageRepository: str,
      imageTag: str,
      dataDir: str,
      extraArgs: args,
      extraEnvs: envs,
      serverCertSANs: list(str),
      peerCertSANs: list(str),
    }),
    external: obj({ endpoints: list(str), caFile: str, certFile: str, keyFile: str }),
  }),
  networking: obj({ serviceSubnet: str, podSubnet: str, dnsDomain: str }),
  kubernetesVersion: str,
  controlPlaneEndpoint: str,
  apiServer: obj({ ...component, certSANs: list(str) }),
  controllerManager: obj(component),
  scheduler: obj(component),
  dns: obj({ imageRepository: str, imageTag: str, disabled: bool }),
  proxy: obj({ disabled: bool }),
  certificatesDir: str,
  imageRepository: str,
  featureGates: map(bool),
  clusterName: str,
  encryptionAlgorithm: str,
  certificateValidityPeriod: str,
  caCertificateValidityPeriod: str,
});
