/** ConfigMaps and Secrets kubeadm writes with "create or update" semantics. */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { COMPONENT_CONFIG_HASH_ANNOTATION, componentConfigHash } from '../config/componentconfig/hash.js';
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

// One home for kubeadm's component-config hash: src/config/componentconfig/hash.ts.
export { COMPONENT_CONFIG_HASH_ANNOTATION };

/** kubeadm's ChecksumForConfigMap of a ConfigMap object. */
export function configMapChecksum(cm: V1ConfigMap): string {
  return componentConfigHash(cm.data ?? {}, cm.binaryData ?? {});
}

/** kubeadm's SignConfigMap: the ConfigMap with its checksum annotation (a generated, not user-supplied, config). */
export function signConfigMap(cm: V1ConfigMap): V1ConfigMap {
  const annotations = { ...cm.metadata?.annotations, [COMPONENT_CONFIG_HASH_ANNOTATION]: configMapChecksum(cm) };
  return { ...cm, metadata: { ...cm.metadata, annotations } };
}
