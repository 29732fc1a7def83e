/**
 * The KubeletConfiguration component config (kubelet.config.k8s.io/v1beta1), as far as join needs it:
 * the cluster's document (the `kubelet-config` ConfigMap) with a node's own document laid over it,
 * and a shape check. A minimal stand-in: the component-config work (issue 12) owns this module and
 * its full defaulting/validation replaces this on merge, with the same two names.
 */
import { ConfigError } from '../../errors.js';
import { overlay } from '../merge.js';

export const KUBELET_CONFIGURATION_API_VERSION = 'kubelet.config.k8s.io/v1beta1';
export const KUBELET_CONFIGURATION_KIND = 'KubeletConfiguration';

export type KubeletConfigurationDoc = Record<string, unknown>;

/**
 * The cluster's KubeletConfiguration with the node's own document over it (`file` names the node's
 * document in errors). Without a node document the cluster's is returned unchanged.
 */
export function overlayKubeletConfiguration(
  clusterDoc: KubeletConfigurationDoc,
  nodeDoc: KubeletConfigurationDoc | undefined,
  file: string,
): KubeletConfigurationDoc {
  if (!nodeDoc) return clusterDoc;
  validateKubeletConfiguration(nodeDoc, file);
  return overlay<KubeletConfigurationDoc>(clusterDoc, nodeDoc);
}

/** apiVersion and kind as the kubelet reads them; every other field is the kubelet's to judge. */
export function validateKubeletConfiguration(doc: KubeletConfigurationDoc, file: string): void {
  if (doc.apiVersion !== KUBELET_CONFIGURATION_API_VERSION) {
    throw new ConfigError(`apiVersion "${String(doc.apiVersion)}" is not supported for KubeletConfiguration`, {
      file,
      field: 'apiVersion',
      hint: `use ${KUBELET_CONFIGURATION_API_VERSION}`,
    });
  }
  if (doc.kind !== KUBELET_CONFIGURATION_KIND) throw new ConfigError(`kind must be ${KUBELET_CONFIGURATION_KIND}`, { file, field: 'kind' });
}
