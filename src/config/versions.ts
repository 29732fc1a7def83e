/**
 * The versions kubestrap pins by default. One place, so the harness (test/support/k8s/go.mod), the
 * defaults and `config images list` agree. Values are those kubeadm v1.34.4 uses
 * (cmd/kubeadm/app/constants/constants.go at that tag).
 */
export const DEFAULT_KUBERNETES_VERSION = 'v1.34.4';
/** kubeadm's SupportedEtcdVersion for minor 34. */
export const DEFAULT_ETCD_IMAGE_TAG = '3.6.5-0';
export const PAUSE_VERSION = '3.10.1';
export const COREDNS_VERSION = 'v1.12.1';
export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';
/** Oldest minor this kubestrap renders manifests for (kubeadm supports n-1 for the control plane). */
export const MIN_KUBERNETES_MINOR = 33;
export const MAX_KUBERNETES_MINOR = 34;

/** etcd image tag kubeadm pins per Kubernetes minor. */
export const ETCD_IMAGE_TAG_BY_MINOR: Readonly<Record<number, string>> = {
  33: '3.5.24-0',
  34: '3.6.5-0',
};
