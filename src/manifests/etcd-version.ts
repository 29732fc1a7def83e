/**
 * etcd 3.6 renamed the `--experimental-*` flags kubeadm sets. kubeadm v1.34 decides by parsing the
 * etcd image tag as a semantic version (k8s.io/apimachinery/pkg/util/version ParseSemantic) and
 * comparing it with 3.6.0; a tag that does not parse gets the old flags. Semver precedence applies,
 * so `3.6.0-0` counts as older than 3.6.0 while `3.6.5-0` is newer.
 */
const VERSION = /^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)$/;
const EXTRA = /^(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\s*$/;

interface Semver {
  numbers: [number, number, number];
  preRelease: string;
}

function parseSemantic(tag: string): Semver | undefined {
  const m = VERSION.exec(tag);
  if (!m) return undefined;
  const parts = m[1]!.split('.');
  if (parts.length !== 3 || parts.some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
  const extra = EXTRA.exec(m[2] ?? '');
  if (!extra) return undefined;
  const preRelease = extra[1] ?? '';
  if (preRelease.split('.').some((p) => /^0\d+$/.test(p))) return undefined;
  return { numbers: parts.map(Number) as [number, number, number], preRelease };
}

/** True when the tag names etcd ≥ 3.6.0, i.e. the stable flag names must be used. */
export function etcdTagAtLeast36(tag: string): boolean {
  const v = parseSemantic(tag);
  if (!v) return false;
  const [major, minor, patch] = v.numbers;
  if (major !== 3) return major > 3;
  if (minor !== 6) return minor > 6;
  // 3.6.x: any patch > 0 is newer; 3.6.0 is newer only as a release, not as a pre-release.
  return patch > 0 || v.preRelease === '';
}
