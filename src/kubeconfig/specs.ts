/**
 * The kubeconfig files `kubeadm init` writes (≥1.29), as data: the client identity (CN → user,
 * O → groups) and which API server URL it dials.
 */
import type { ResolvedConfig } from '../config/types.js';
import { CLUSTER_ADMINS_GROUP, KUBECONFIG_FILES } from '../constants.js';

export interface KubeconfigSpec {
  /** Phase name (`controller-manager`). */
  name: string;
  /** File name under the kubernetes dir (`controller-manager.conf`). */
  file: string;
  help: string;
  commonName: (cfg: ResolvedConfig) => string;
  organization: readonly string[];
  /**
   * `cluster`: controlPlaneEndpoint (else advertise address) — what humans and joins use.
   * `local`: this node's own API server, so components never depend on a load balancer
   * (kubelet.conf too: ControlPlaneKubeletLocalMode is on by default since 1.33).
   */
  server: 'cluster' | 'local';
  /** Listed by `certs check-expiration` (kubeadm renews these; kubelet.conf is rotated by the kubelet). */
  renewable: boolean;
}

export const KUBECONFIG_SPECS: readonly KubeconfigSpec[] = [
  {
    name: 'admin',
    file: KUBECONFIG_FILES.admin,
    help: 'Generate a kubeconfig file for the admin to use and for kubeadm itself',
    commonName: () => 'kubernetes-admin',
    organization: [CLUSTER_ADMINS_GROUP],
    server: 'cluster',
    renewable: true,
  },
  {
    name: 'super-admin',
    file: KUBECONFIG_FILES.superAdmin,
    help: 'Generate a kubeconfig file for the super-admin',
    commonName: () => 'kubernetes-super-admin',
    organization: ['system:masters'],
    server: 'cluster',
    renewable: true,
  },
  {
    name: 'kubelet',
    file: KUBECONFIG_FILES.kubelet,
    help: 'Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes',
    commonName: (cfg) => `system:node:${cfg.nodeName}`,
    organization: ['system:nodes'],
    server: 'local',
    renewable: false,
  },
  {
    name: 'controller-manager',
    file: KUBECONFIG_FILES.controllerManager,
    help: 'Generate a kubeconfig file for the controller manager to use',
    commonName: () => 'system:kube-controller-manager',
    organization: [],
    server: 'local',
    renewable: true,
  },
  {
    name: 'scheduler',
    file: KUBECONFIG_FILES.scheduler,
    help: 'Generate a kubeconfig file for the scheduler to use',
    commonName: () => 'system:kube-scheduler',
    organization: [],
    server: 'local',
    renewable: true,
  },
];

export function serverURL(spec: KubeconfigSpec, cfg: ResolvedConfig): string {
  return spec.server === 'cluster' ? cfg.clusterAPIServerURL : cfg.localAPIServerURL;
}
