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
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'kubeadm'
  | 'etcd'
  | 'pause';
export type ImageName = Exclude<ComponentImage, 'kube-proxy'>;

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
  /** Hash of test/support/pause sources, to rebuild pause when they change. */
  pauseSourceHash: string;
  preparedAt: string;
}

export const COMPONENTS_FORMAT = 1;

/**
 * The environment variable that selects the Kubernetes version of the whole suite: any row of
 * src/config/versions.ts, as `v1.36.3`, `1.36` or `stable-1.36`. Unset: the default version.
 */
export const K8S_VERSION_ENV = 'KUBESTRAP_K8S_VERSION';

/** The release the suite runs (from $KUBESTRAP_K8S_VERSION); throws one line for a version the table lacks. */
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

let cached: Components | undefined;

/** The prepared components for the suite's Kubernetes version; throws with what to run when absent. */
export function components(): Components {
  if (cached) return cached;
  const file = manifestPath();
  if (!existsSync(file)) {
    throw new Error(`${file} not found: run \`npm run prepare:components\` first`);
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Components;
  if (parsed.format !== COMPONENTS_FORMAT) {
    throw new Error(`${file} has format ${parsed.format}, expected ${COMPONENTS_FORMAT}: run \`npm run prepare:components\``);
  }
  for (const bin of Object.values(parsed.binaries)) {
    if (!existsSync(bin.path)) throw new Error(`${bin.path} is gone: run \`npm run prepare:components\``);
  }
  cached = parsed;
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
