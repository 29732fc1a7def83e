/**
 * What the CRI Version call says about the runtime, judged against what the kubelet of our
 * Kubernetes versions supports: containerd 1.x (1.6, 1.7) is out of upstream support, and the
 * kubelet's fallback for runtimes without the RuntimeConfig call (containerd 1.x) ends in v1.38.
 * Pure functions, shared by preflight and the agent's cri runtime.
 */
import type { VersionResponse } from './types.js';

export interface RuntimeSemver {
  major: number;
  minor: number;
  patch: number;
}

/** The first containerd major upstream still supports, and the kubelet version that drops the older ones. */
export const MIN_SUPPORTED_CONTAINERD_MAJOR = 2;
export const KUBELET_DROPS_CONTAINERD_1 = 'v1.38';

/**
 * major.minor.patch of a runtime version string as runtimes report it: `v2.4.2`, `1.6.20~ds1`
 * (Debian), `1.7.24-0ubuntu1`, `2.0.0-rc.1`; a missing patch counts as 0. Undefined when no
 * version leads the string.
 */
export function parseRuntimeVersion(text: string): RuntimeSemver | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/**
 * The one-line warning for an out-of-support containerd (undefined for containerd ≥ 2.0, other
 * runtimes, and versions that do not parse: no guessing).
 */
export function containerdSupportWarning(version: Pick<VersionResponse, 'runtimeName' | 'runtimeVersion'>): string | undefined {
  if (version.runtimeName !== 'containerd') return undefined;
  const v = parseRuntimeVersion(version.runtimeVersion);
  if (!v || v.major >= MIN_SUPPORTED_CONTAINERD_MAJOR) return undefined;
  const shown = version.runtimeVersion.trim().replace(/^v/, '');
  return `containerd ${shown} is out of support; the kubelet drops containerd ${v.major}.x in ${KUBELET_DROPS_CONTAINERD_1}: upgrade to containerd ${MIN_SUPPORTED_CONTAINERD_MAJOR}.x`;
}
