/**
 * Where the real components live: the manifest test/support/prepare.ts writes after building or
 * finding them (binaries, OCI image tarballs, containerd/runc). Tests read it through
 * components(); a missing or stale manifest is one line telling what to run.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_KUBERNETES_VERSION,
  KUBERNETES_RELEASES,
  releaseOf,
  resolveKubernetesVersion,
  SUPPORTED_MINORS_TEXT,
  type KubernetesRelease,
} from '../../src/config/versions.js';
import type { ComponentImage } from '../../src/images/kubernetes.js';

export type BinaryName =
  'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'kubeadm' | 'kubelet' | 'kube-proxy' | 'etcd' | 'etcdctl' | 'pause' | 'coredns';
export type ImageName = ComponentImage;
/**
 * The images startContainerd() imports when a test names none: the control plane's. kube-proxy's
 * and coredns' (only the node tests run them) are imported by the tests that ask for them.
 */
export const DEFAULT_IMAGES: readonly ImageName[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd', 'pause'];

export interface BinaryInfo {
  path: string;
  sha256: string;
  size: number;
  mtimeMs: number;
  /** First line of `<binary> --version` (pause: `-v`). */
  version: string;
}

export interface ImageInfo {
  /** e.g. registry.k8s.io/kube-apiserver:v1.34.4 */
  ref: string;
  /** OCI image-layout archive for `ctr images import`. */
  tarball: string;
  manifestDigest: string;
  /** Hash of (binary sha256, recipe, builder version): the image is rebuilt when it changes. */
  key: string;
}

export interface ToolInfo {
  path: string;
  version: string;
}

export interface Components {
  /** Manifest format version. */
  format: 1;
  kubernetesVersion: string;
  etcdVersion: string;
  etcdImageTag: string;
  pauseVersion: string;
  criApiVersion: string;
  cacheDir: string;
  binDir: string;
  imageDir: string;
  binaries: Record<BinaryName, BinaryInfo>;
  images: Record<ImageName, ImageInfo>;
  containerd: ToolInfo;
  runc: ToolInfo;
  ctr: ToolInfo;
  /** crictl when Debian packages it; null otherwise. */
  crictl: ToolInfo | null;
  /** Debian's containernetworking-plugins: `path` is the plugin dir (bridge, host-local, loopback, ...). */
  cniPlugins: ToolInfo;
  /** Debian's haproxy, the HA tests' external API load balancer (absent in a manifest written before it). */
  haproxy?: ToolInfo;
  /** Hash of test/support/pause sources, to rebuild pause when they change. */
  pauseSourceHash: string;
  /** The CoreDNS module built for the row's corednsVersion (COREDNS_BUILDS) and the hash of its go.mod/go.sum. */
  coredns: { imageTag: string; moduleVersion: string; sourceHash: string };
  /** sha256 of the host files (iptables, libraries) in the kube-proxy image. */
  kubeProxyHostFilesHash: string;
  preparedAt: string;
}

export const COMPONENTS_FORMAT = 1;

/**
 * Which CoreDNS module (test/support/coredns/<version>/) builds the image of each row's
 * corednsVersion. The Go module proxy serves github.com/coredns/coredns v1.14.3..v1.15.0 only
 * (`go list -m -versions github.com/coredns/coredns`), so the rows whose CoreDNS is older get the
 * nearest served one, v1.14.3, under the row's own tag (the tag kubeadm's Deployment names). Its
 * Corefile plugins (errors, health, ready, kubernetes, prometheus, forward, cache, loop, reload,
 * loadbalance) are the same.
 */
export const COREDNS_BUILDS: Readonly<Record<string, string>> = {
  'v1.13.1': 'v1.14.3', // v1.35
  'v1.14.2': 'v1.14.3', // v1.36
  'v1.14.6': 'v1.14.6', // v1.37
};

/**
 * The environment variable that selects the Kubernetes version of the whole suite: any row of
 * src/config/versions.ts, as `v1.36.3`, `1.36` or `stable-1.36`. Unset: the default version.
 */
export const K8S_VERSION_ENV = 'KUBESTRAP_K8S_VERSION';

/** The release the suite runs (from $KUBESTRAP_K8S_VERSION); throws one line for a version the table lacks. */
/**
 * The upgrade the e2e tests prove, previous minor's row → the table's default; prepare builds both
 * besides the suite's version.
 */
export const UPGRADE_PATH: readonly [KubernetesRelease, KubernetesRelease] = [
  KUBERNETES_RELEASES.find((r) => r.minor === releaseOf(DEFAULT_KUBERNETES_VERSION)!.minor - 1)!,
  releaseOf(DEFAULT_KUBERNETES_VERSION)!,
];

export function suiteRelease(): KubernetesRelease {
  const wanted = process.env[K8S_VERSION_ENV]?.trim() || DEFAULT_KUBERNETES_VERSION;
  const version = resolveKubernetesVersion(wanted);
  const row = releaseOf(version);
  if (!row || !version.startsWith('v1.')) {
    throw new Error(`${K8S_VERSION_ENV}=${wanted}: not a supported minor (supported: ${SUPPORTED_MINORS_TEXT})`);
  }
  if (row.version !== version) {
    const patches = KUBERNETES_RELEASES.map((r) => r.version).join(', ');
    throw new Error(`${K8S_VERSION_ENV}=${wanted}: the harness builds one patch per minor (${patches}); use ${row.version}`);
  }
  return row;
}

/** `--kubernetes-version` for the kubestrap commands a test runs, so they render the suite's version. */
export function suiteVersionFlags(): string[] {
  return ['--kubernetes-version', suiteRelease().version];
}

/** ~/.cache/kubestrap-test, or $KUBESTRAP_TEST_CACHE. */
export function cacheRoot(): string {
  return process.env.KUBESTRAP_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'kubestrap-test');
}

export function manifestPath(kubernetesVersion = suiteRelease().version): string {
  return path.join(cacheRoot(), kubernetesVersion, 'components.json');
}

const cached = new Map<string, Components>();

/** The prepared components for the suite's Kubernetes version; throws with what to run when absent. */
export function components(): Components {
  return componentsOf(suiteRelease().version);
}

/**
 * The prepared components of one version (a row's patch, as `v1.36.3`): what an upgrade test
 * needs of its second version. Throws with what to run when that version is not prepared
 * (`KUBESTRAP_K8S_VERSION=<version> npm run prepare:components`).
 */
export function componentsOf(kubernetesVersion: string): Components {
  const hit = cached.get(kubernetesVersion);
  if (hit) return hit;
  const file = manifestPath(kubernetesVersion);
  const prepare =
    kubernetesVersion === suiteRelease().version ? 'npm run prepare:components' : `${K8S_VERSION_ENV}=${kubernetesVersion} npm run prepare:components`;
  if (!existsSync(file)) {
    throw new Error(`${file} not found: run \`${prepare}\` first`);
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Components;
  if (parsed.format !== COMPONENTS_FORMAT) {
    throw new Error(`${file} has format ${parsed.format}, expected ${COMPONENTS_FORMAT}: run \`${prepare}\``);
  }
  for (const bin of Object.values(parsed.binaries)) {
    if (!existsSync(bin.path)) throw new Error(`${bin.path} is gone: run \`${prepare}\``);
  }
  cached.set(kubernetesVersion, parsed);
  return parsed;
}

/**
 * The containerd 2.x the harness builds from its Go module (test/support/containerd/<version>/), run
 * beside Debian's containerd 1.x so the CRI tests cover both config formats and both CRI servers.
 * Cached per containerd version in <cache root>/containerd-<version>/ (shared by every Kubernetes
 * version), described by its own containerd.json so it never touches a components.json.
 */
export const CONTAINERD2_VERSION = 'v2.4.2';
export type ContainerdBinaryName = 'containerd' | 'containerd-shim-runc-v2' | 'ctr';

export interface ContainerdBuild {
  /** Manifest format version. */
  format: 1;
  /** e.g. v2.4.2 */
  version: string;
  /** Holds the three binaries; first on containerd's PATH so it starts this shim, not Debian's. */
  binDir: string;
  binaries: Record<ContainerdBinaryName, BinaryInfo>;
  /** Hash of the wrapper module and build flags, to rebuild when they change. */
  sourceHash: string;
  preparedAt: string;
}

export const CONTAINERD_BUILD_FORMAT = 1;

/** Which containerd startContainerd() runs when a test does not say: `1` (Debian's, the default) or `2` (the built one). */
export const CONTAINERD_ENV = 'KUBESTRAP_CONTAINERD';
export type ContainerdChoice = 1 | 2;

export function suiteContainerd(): ContainerdChoice {
  const wanted = process.env[CONTAINERD_ENV]?.trim() || '1';
  if (wanted === '1' || wanted === '2') return Number(wanted) as ContainerdChoice;
  throw new Error(`${CONTAINERD_ENV}=${wanted}: use 1 (Debian's containerd 1.x) or 2 (containerd ${CONTAINERD2_VERSION}, built by prepare:components)`);
}

export function containerdBuildDir(version = CONTAINERD2_VERSION): string {
  return path.join(cacheRoot(), `containerd-${version}`);
}

let cachedBuild: ContainerdBuild | undefined;

/** The built containerd 2.x; throws with what to run when absent. */
export function containerdBuild(): ContainerdBuild {
  if (cachedBuild) return cachedBuild;
  const file = path.join(containerdBuildDir(), 'containerd.json');
  if (!existsSync(file)) throw new Error(`${file} not found: run \`npm run prepare:components\` first`);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as ContainerdBuild;
  if (parsed.format !== CONTAINERD_BUILD_FORMAT || parsed.version !== CONTAINERD2_VERSION) {
    throw new Error(`${file} is stale (format ${parsed.format}, ${parsed.version}): run \`npm run prepare:components\``);
  }
  for (const bin of Object.values(parsed.binaries)) {
    if (!existsSync(bin.path)) throw new Error(`${bin.path} is gone: run \`npm run prepare:components\``);
  }
  cachedBuild = parsed;
  return parsed;
}

/** True when the components are prepared (tests use it to skip with a reason instead of failing). */
export function componentsReady(): boolean {
  try {
    components();
    return true;
  } catch {
    return false;
  }
}
