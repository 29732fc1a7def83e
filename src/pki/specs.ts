/**
 * The certificates kubeadm (≥1.29) creates under certificatesDir, as data: one row per file pair.
 * Generation, reuse checks, the `init phase certs <name>` subcommands and `certs check-expiration`
 * are all driven by this table.
 */
import type { ResolvedConfig } from '../config/types.js';
import { releaseFor } from '../config/versions.js';
import { apiServerAltNames, etcdPeerAltNames, etcdServerAltNames, type ComputedAltNames } from './sans.js';

export type CAName = 'ca' | 'front-proxy-ca' | 'etcd-ca';
export type ExtUsage = 'serverAuth' | 'clientAuth';

export interface CertSpec {
  /** kubeadm's name: the phase name and the check-expiration row (`etcd-server`). */
  name: string;
  /** File name without extension, relative to certificatesDir (`etcd/server`). */
  baseName: string;
  /** For `--help`: "Generate the <longName>". */
  longName: string;
  commonName: (cfg: ResolvedConfig) => string;
  /** Subject organizations; a function because one depends on the Kubernetes minor. */
  organization: (cfg: ResolvedConfig) => readonly string[];
  /** Extended key usages of a leaf; CAs have none. */
  usages: readonly ExtUsage[];
  altNames?: (cfg: ResolvedConfig) => ComputedAltNames;
  /** The CA that signs it; absent for the (self-signed) CAs themselves. */
  ca?: CAName;
  /** Only made for local (stacked) etcd. */
  etcd: boolean;
}

export interface CASpec extends CertSpec {
  name: CAName;
}

const fixed = (cn: string) => () => cn;
const none = (): readonly string[] => [];

/**
 * Up to v1.35 the kubelets authorize kube-apiserver by this certificate's group
 * `kubeadm:cluster-admins`; from v1.36 by its CN through the `kubeadm:apiserver-kubelet-client`
 * ClusterRoleBinding, and the certificate carries no organization (see KubernetesRelease).
 */
function kubeletClientOrganization(cfg: ResolvedConfig): readonly string[] {
  return releaseFor(cfg.cluster.kubernetesVersion).kubeletClientAuthorization === 'cluster-admins-group' ? ['kubeadm:cluster-admins'] : [];
}

/** In kubeadm's order, which is also the phase order: each CA before the leaves it signs. */
export const CERT_SPECS: readonly CertSpec[] = [
  {
    name: 'ca',
    baseName: 'ca',
    longName: 'self-signed Kubernetes CA to provision identities for other Kubernetes components',
    commonName: fixed('kubernetes'),
    organization: none,
    usages: [],
    etcd: false,
  },
  {
    name: 'apiserver',
    baseName: 'apiserver',
    longName: 'certificate for serving the Kubernetes API',
    commonName: fixed('kube-apiserver'),
    organization: none,
    usages: ['serverAuth'],
    altNames: apiServerAltNames,
    ca: 'ca',
    etcd: false,
  },
  {
    name: 'apiserver-kubelet-client',
    baseName: 'apiserver-kubelet-client',
    longName: 'certificate for the API server to connect to kubelet',
    commonName: fixed('kube-apiserver-kubelet-client'),
    organization: kubeletClientOrganization,
    usages: ['clientAuth'],
    ca: 'ca',
    etcd: false,
  },
  {
    name: 'front-proxy-ca',
    baseName: 'front-proxy-ca',
    longName: 'self-signed CA to provision identities for front proxy',
    commonName: fixed('front-proxy-ca'),
    organization: none,
    usages: [],
    etcd: false,
  },
  {
    name: 'front-proxy-client',
    baseName: 'front-proxy-client',
    longName: 'certificate for the front proxy client',
    commonName: fixed('front-proxy-client'),
    organization: none,
    usages: ['clientAuth'],
    ca: 'front-proxy-ca',
    etcd: false,
  },
  {
    name: 'etcd-ca',
    baseName: 'etcd/ca',
    longName: 'self-signed CA to provision identities for etcd',
    commonName: fixed('etcd-ca'),
    organization: none,
    usages: [],
    etcd: true,
  },
  {
    name: 'etcd-server',
    baseName: 'etcd/server',
    longName: 'certificate for serving etcd',
    commonName: (cfg) => cfg.nodeName,
    organization: none,
    usages: ['serverAuth', 'clientAuth'],
    altNames: etcdServerAltNames,
    ca: 'etcd-ca',
    etcd: true,
  },
  {
    name: 'etcd-peer',
    baseName: 'etcd/peer',
    longName: 'certificate for etcd nodes to communicate with each other',
    commonName: (cfg) => cfg.nodeName,
    organization: none,
    usages: ['serverAuth', 'clientAuth'],
    altNames: etcdPeerAltNames,
    ca: 'etcd-ca',
    etcd: true,
  },
  {
    name: 'etcd-healthcheck-client',
    baseName: 'etcd/healthcheck-client',
    longName: 'certificate for liveness probes to healthcheck etcd',
    commonName: fixed('kube-etcd-healthcheck-client'),
    organization: none,
    usages: ['clientAuth'],
    ca: 'etcd-ca',
    etcd: true,
  },
  {
    name: 'apiserver-etcd-client',
    baseName: 'apiserver-etcd-client',
    longName: 'certificate the apiserver uses to access etcd',
    commonName: fixed('kube-apiserver-etcd-client'),
    organization: none,
    usages: ['clientAuth'],
    ca: 'etcd-ca',
    etcd: true,
  },
];

/** The service-account signing key pair: not a certificate, so not in CERT_SPECS. */
export const SA_KEY = {
  name: 'sa',
  baseName: 'sa',
  longName: 'private key for signing service account tokens along with its public key',
} as const;

export function isCASpec(spec: CertSpec): spec is CASpec {
  return spec.ca === undefined;
}

export function caSpec(name: CAName): CASpec {
  const spec = CERT_SPECS.find((s): s is CASpec => isCASpec(s) && s.name === name);
  if (!spec) throw new Error(`no CA named ${name}`);
  return spec;
}
