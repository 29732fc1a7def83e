/**
 * Where the real components live: the manifest test/support/prepare.ts writes after building or
 * finding them (binaries, OCI image tarballs, containerd/runc). Tests read it through
 * components(); a missing or stale manifest is one line telling what to run.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_KUBERNETES_VERSION } from '../../src/config/versions.js';
import type { ComponentImage } from '../../src/images/kubernetes.js';

export type BinaryName = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'etcd' | 'pause';
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

/** ~/.cache/kubestrap-test, or $KUBESTRAP_TEST_CACHE. */
export function cacheRoot(): string {
  return process.env.KUBESTRAP_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'kubestrap-test');
}

export function manifestPath(kubernetesVersion = DEFAULT_KUBERNETES_VERSION): string {
  return path.join(cacheRoot(), kubernetesVersion, 'components.json');
}

let cached: Components | undefined;

/** The prepared components for the default Kubernetes version; throws with what to run when absent. */
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
