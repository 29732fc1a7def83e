/** ConfigMaps and Secrets kubeadm writes with "create or update" semantics. */
import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { createOrReplace } from './retry.js';

export function configMap(name: string, namespace: string, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export async function applyConfigMap(c: KubeClient, cm: V1ConfigMap): Promise<V1ConfigMap> {
  const { name, namespace } = cm.metadata as { name: string; namespace: string };
  return createOrReplace(
    () => c.core.createNamespacedConfigMap({ namespace, body: cm }),
    () => c.core.replaceNamespacedConfigMap({ name, namespace, body: cm }),
  );
}

export async function applySecret(c: KubeClient, s: V1Secret): Promise<V1Secret> {
  const { name, namespace } = s.metadata as { name: string; namespace: string };
  return createOrReplace(
    () => c.core.createNamespacedSecret({ namespace, body: s }),
    () => c.core.replaceNamespacedSecret({ name, namespace, body: s }),
  );
}

/** kubeadm's checksum annotation on component-config ConfigMaps it generated (componentconfigs/checksums.go). */
export const COMPONENT_CONFIG_HASH_ANNOTATION = 'kubeadm.kubernetes.io/component-config.hash';

/** kubeadm's ChecksumForConfigMap: sha256 over the values of data, then binaryData, each in key order. */
export function configMapChecksum(cm: V1ConfigMap): string {
  const hash = createHash('sha256');
  const sorted = <T>(m: Record<string, T> | undefined): T[] =>
    Object.keys(m ?? {})
      .sort()
      .map((k) => m![k]!);
  for (const v of sorted(cm.data)) hash.update(v);
  for (const v of sorted(cm.binaryData)) hash.update(Buffer.from(v, 'base64'));
  return `sha256:${hash.digest('hex')}`;
}

/** kubeadm's SignConfigMap: the ConfigMap with its checksum annotation (a generated, not user-supplied, config). */
export function signConfigMap(cm: V1ConfigMap): V1ConfigMap {
  const annotations = { ...cm.metadata?.annotations, [COMPONENT_CONFIG_HASH_ANNOTATION]: configMapChecksum(cm) };
  return { ...cm, metadata: { ...cm.metadata, annotations } };
}
