/**
 * kubeadm's `kubeadm.kubernetes.io/component-config.hash` (componentconfigs/checksums.go): sha256
 * over the ConfigMap's data values in key order, then its binaryData values in key order, written
 * `sha256:<hex>`. kubeadm puts it only on ConfigMaps it generated; a user-supplied component config
 * is left unsigned, which is how `kubeadm upgrade` and `join` tell the two apart.
 */
import { createHash } from 'node:crypto';

export const COMPONENT_CONFIG_HASH_ANNOTATION = 'kubeadm.kubernetes.io/component-config.hash';

const sortedValues = <T>(m: Readonly<Record<string, T>>): T[] =>
  Object.keys(m)
    .sort() // Go sorts by bytes; ConfigMap keys are ASCII ([-._a-zA-Z0-9]), where the default sort agrees
    .map((k) => m[k]!);

/** The hash of a ConfigMap's `data` (strings) and `binaryData` (bytes, or base64 as the API carries it). */
export function componentConfigHash(data: Readonly<Record<string, string>>, binaryData: Readonly<Record<string, Uint8Array | string>> = {}): string {
  const hash = createHash('sha256');
  for (const v of sortedValues(data)) hash.update(v, 'utf8');
  for (const v of sortedValues(binaryData)) hash.update(typeof v === 'string' ? Buffer.from(v, 'base64') : v);
  return `sha256:${hash.digest('hex')}`;
}
