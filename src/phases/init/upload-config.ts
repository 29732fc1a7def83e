/**
 * kubeadm's upload-config: the ClusterConfiguration in kube-system/kubeadm-config and a
 * KubeletConfiguration in kube-system/kubelet-config, each readable by joining nodes
 * (bootstrap-token group) and by nodes (system:nodes) through a Role + RoleBinding.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { kubeletComponentConfigWithNotes } from '../../config/componentconfig/kubelet.js';
import type { ResolvedConfig } from '../../config/types.js';
import { DEFAULT_NODE_TOKEN_GROUP } from '../../kube/bootstrap-token.js';
import { applyConfigMap, configMap, signConfigMap } from '../../kube/configmap.js';
import { applyRoleAndBinding, group, namedRule, role } from '../../kube/rbac.js';
import { withRetry } from '../../kube/retry.js';
import type { AdminClientData } from '../data.js';
import type { Phase } from '../runner.js';

export const KUBEADM_CONFIG_CM = 'kubeadm-config';
export const KUBELET_CONFIG_CM = 'kubelet-config';
const NODE_READERS = [group(DEFAULT_NODE_TOKEN_GROUP), group('system:nodes')];

/** The ClusterConfiguration as kubeadm stores it (v1beta4 YAML, empty values left out). */
export function clusterConfigurationYAML(config: ResolvedConfig): string {
  return stringify(config.cluster, { aliasDuplicateObjects: false });
}

/**
 * The kubelet-config ConfigMap: the cluster-wide KubeletConfiguration under key `kubelet`, with
 * kubeadm's component-config hash when it was generated rather than given by the user.
 */
export function kubeletConfigMap(config: ResolvedConfig, doc: Record<string, unknown>): V1ConfigMap {
  const cm = configMap(KUBELET_CONFIG_CM, 'kube-system', { kubelet: stringify(doc) });
  // kubeadm leaves a user-supplied KubeletConfiguration unsigned (phases/kubelet/config.go)
  return config.componentConfigs.kubelet !== undefined ? cm : signConfigMap(cm);
}

const kubeadmSub: Phase<AdminClientData> = {
  name: 'kubeadm',
  help: 'Upload the kubeadm ClusterConfiguration to a ConfigMap',
  run: async (ctx) => {
    ctx.out.line('upload-config', `Storing the configuration used in ConfigMap "${KUBEADM_CONFIG_CM}" in the "kube-system" Namespace`);
    if (ctx.dryRun) return;
    const c = await ctx.adminClient();
    const timeoutMs = ctx.config.timeoutsMs.kubernetesAPICall;
    await withRetry(
      async () => {
        await applyConfigMap(c, configMap(KUBEADM_CONFIG_CM, 'kube-system', { ClusterConfiguration: clusterConfigurationYAML(ctx.config) }));
        await applyRoleAndBinding(c, role('kubeadm:nodes-kubeadm-config', 'kube-system', [namedRule('configmaps', [KUBEADM_CONFIG_CM])]), NODE_READERS);
      },
      { timeoutMs, what: `uploading ConfigMap ${KUBEADM_CONFIG_CM}` },
    );
  },
};

const kubeletSub: Phase<AdminClientData> = {
  name: 'kubelet',
  help: 'Upload the kubelet component config to a ConfigMap',
  run: async (ctx) => {
    ctx.out.line('kubelet', `Creating a ConfigMap "${KUBELET_CONFIG_CM}" in namespace kube-system with the configuration for the kubelets in the cluster`);
    const { doc, notes } = kubeletComponentConfigWithNotes(ctx.config);
    for (const note of notes) ctx.out.warn('kubelet', note);
    if (ctx.dryRun) return;
    const c = await ctx.adminClient();
    const cm = kubeletConfigMap(ctx.config, doc);
    await withRetry(
      async () => {
        await applyConfigMap(c, cm);
        await applyRoleAndBinding(c, role('kubeadm:kubelet-config', 'kube-system', [namedRule('configmaps', [KUBELET_CONFIG_CM])]), NODE_READERS);
      },
      { timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall, what: `uploading ConfigMap ${KUBELET_CONFIG_CM}` },
    );
  },
};

export const uploadConfigPhase: Phase<AdminClientData> = {
  name: 'upload-config',
  help: 'Upload the kubeadm and kubelet configuration to a ConfigMap',
  phases: [kubeadmSub, kubeletSub],
};
