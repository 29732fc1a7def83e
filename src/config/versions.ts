/**
 * The Kubernetes releases kubestrap supports, as data: one row per maintained minor with everything
 * our phases render differently between minors. One place, so the defaults, validation, `config
 * images list`, the manifests and the test harness (test/support/k8s/v1.X/go.mod) agree.
 *
 * Each row holds what kubeadm of that same minor does (cmd/kubeadm/app/constants/constants.go and
 * the phases at the row's patch tag), so a cluster made by `kubestrap init --kubernetes-version
 * v1.36.3` looks like one made by kubeadm v1.36.3.
 */

export interface KubernetesRelease {
  minor: number;
  /** The newest patch of the minor that builds here; what `1.36` and `stable-1.36` resolve to. */
  version: string;
  /** kubeadm's DefaultEtcdVersion for the minor (image tag). */
  etcdImageTag: string;
  /** kubeadm's PauseVersion. */
  pauseVersion: string;
  /** kubeadm's CoreDNSVersion. */
  corednsVersion: string;
  /**
   * kube-controller-manager mounts the flexvolume plugin dir (hostPath DirectoryOrCreate, read-write);
   * kubeadm v1.36 dropped the mount with FlexVolume support (phases/controlplane/volumes.go).
   */
  controllerManagerFlexVolumeDir: boolean;
  /**
   * How kube-apiserver's kubelet client certificate is authorized at the kubelets: up to v1.35 by
   * its organization `kubeadm:cluster-admins`; from v1.36 the certificate has no organization and the
   * ClusterRoleBinding `kubeadm:apiserver-kubelet-client` grants `system:kubelet-api-admin` to its CN
   * (phases/certs/certlist.go, phases/bootstraptoken/node/tlsbootstrap.go).
   */
  kubeletClientAuthorization: 'cluster-admins-group' | 'kubelet-api-admin-binding';
  /**
   * kube-apiserver refuses a loopback `--advertise-address` with its default (lease) endpoint
   * reconciler: "may not be in the loopback range" (v1.37 pkg/controlplane/instance.go validates
   * the IP it would write into the `kubernetes` Service's endpoints).
   */
  apiserverRefusesLoopbackAdvertise: boolean;
  /**
   * The KubeProxyConfiguration `mode` kubeadm fills in when the user leaves it empty: v1.37 writes
   * "iptables" (componentconfigs/kubeproxy.go, with ipvs deprecated); earlier minors leave it to
   * kube-proxy, whose default on Linux is iptables too.
   */
  kubeProxyDefaultMode?: 'iptables';
}

/** Oldest first. */
export const KUBERNETES_RELEASES: readonly KubernetesRelease[] = [
  {
    minor: 35,
    version: 'v1.35.4',
    etcdImageTag: '3.6.6-0',
    pauseVersion: '3.10.1',
    corednsVersion: 'v1.13.1',
    controllerManagerFlexVolumeDir: true,
    kubeletClientAuthorization: 'cluster-admins-group',
    apiserverRefusesLoopbackAdvertise: false,
  },
  {
    minor: 36,
    version: 'v1.36.3',
    etcdImageTag: '3.6.8-0',
    pauseVersion: '3.10.2',
    corednsVersion: 'v1.14.2',
    controllerManagerFlexVolumeDir: false,
    kubeletClientAuthorization: 'kubelet-api-admin-binding',
    apiserverRefusesLoopbackAdvertise: false,
  },
  {
    minor: 37,
    version: 'v1.37.2',
    etcdImageTag: '3.7.0-0',
    pauseVersion: '3.10.2',
    corednsVersion: 'v1.14.6',
    controllerManagerFlexVolumeDir: false,
    kubeletClientAuthorization: 'kubelet-api-admin-binding',
    apiserverRefusesLoopbackAdvertise: true,
    kubeProxyDefaultMode: 'iptables',
  },
];

export const DEFAULT_RELEASE: KubernetesRelease = KUBERNETES_RELEASES[KUBERNETES_RELEASES.length - 1]!;
export const DEFAULT_KUBERNETES_VERSION = DEFAULT_RELEASE.version;
export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';

/** `v1.35, v1.36, v1.37` — for messages. */
export const SUPPORTED_MINORS_TEXT = KUBERNETES_RELEASES.map((r) => `v1.${r.minor}`).join(', ');

/** Minor of a `vX.Y.Z[...]` version or an `X.Y` / `stable-X.Y` label; NaN when it has none. */
export function minorOf(version: string): number {
  return Number(/^(?:(?:stable|latest)-)?v?\d+\.(\d+)(?:\.|$)/.exec(version)?.[1] ?? Number.NaN);
}

/** The table's row for a version's minor, if supported. */
export function releaseOf(version: string): KubernetesRelease | undefined {
  const minor = minorOf(version);
  return KUBERNETES_RELEASES.find((r) => r.minor === minor);
}

/** The row for a version the config already validated; the default row otherwise (never throws). */
export function releaseFor(version: string): KubernetesRelease {
  return releaseOf(version) ?? DEFAULT_RELEASE;
}

/** kubeadm's labels for "the newest stable release"; resolved offline to the table's default. */
const LATEST_LABELS = new Set(['stable', 'stable-1', 'latest', 'latest-1']);

/**
 * Offline version labels: `stable`/`latest`(-1) → the default; `1.36`, `v1.36`, `stable-1.36`,
 * `latest-1.36` → that minor's row; `1.36.2` → `v1.36.2`. Anything else is returned unchanged for
 * validation to judge (so an unsupported minor is reported with the supported ones).
 */
export function resolveKubernetesVersion(input: string): string {
  const value = input.trim();
  if (value === '' || LATEST_LABELS.has(value)) return DEFAULT_KUBERNETES_VERSION;
  const minorLabel = /^(?:(?:stable|latest)-)?v?1\.(\d+)$/.exec(value);
  if (minorLabel) {
    const row = KUBERNETES_RELEASES.find((r) => r.minor === Number(minorLabel[1]));
    return row ? row.version : value;
  }
  if (/^\d+\.\d+\.\d+/.test(value)) return `v${value}`;
  return value;
}
