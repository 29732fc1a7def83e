/**
 * kubeadm's kube-proxy addon (cmd/kubeadm/app/phases/addons/proxy/{proxy,manifests}.go, the same
 * objects in v1.35–v1.37): the `kube-proxy` ConfigMap (config.conf from the KubeProxyConfiguration,
 * kubeconfig.conf for the in-cluster service account, signed with kubeadm's checksum), the
 * DaemonSet, its ServiceAccount, the ClusterRoleBinding `kubeadm:node-proxier` and the Role/RoleBinding
 * that let joining nodes read the ConfigMap — in the order kubeadm creates them.
 */
import type { V1DaemonSet, V1EnvVar } from '@kubernetes/client-node';
import { KUBE_PROXY_KUBECONFIG } from '../../config/componentconfig/kube-proxy.js';
import type { ResolvedConfig } from '../../config/types.js';
import { goYaml } from '../../util/go-format.js';
import type { KubeObject } from '../apply.js';
import { DEFAULT_NODE_TOKEN_GROUP } from '../bootstrap-token.js';
import { configMap, signConfigMap } from '../configmap.js';
import { clusterRoleBinding, namedRule, role, roleBinding } from '../rbac.js';
import { placementAffinity, type AddonPlacement } from './common.js';

export const KUBE_PROXY_NAME = 'kube-proxy';
/** kubeadm's KubeProxyConfigMapKey. */
export const KUBE_PROXY_CONFIG_KEY = 'config.conf';
const NS = 'kube-system';
const MOUNT_DIR = KUBE_PROXY_KUBECONFIG.slice(0, KUBE_PROXY_KUBECONFIG.lastIndexOf('/'));
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeProxyOptions extends AddonPlacement {
  /** The KubeProxyConfiguration (src/config/componentconfig/kube-proxy.ts). */
  componentConfig: Record<string, unknown>;
  /** Whether the user supplied it: kubeadm signs only the configs it generated. */
  userSupplied?: boolean;
  /** kubeadm passes the host's `*_proxy` variables to the container (not in its printed manifest). */
  env?: V1EnvVar[];
}

/** kube-proxy's kubeconfig: the service account's token and CA, the cluster's API endpoint. */
export function kubeProxyKubeconfig(server: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: ${SA_DIR}/ca.crt
    server: ${server}
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: ${SA_DIR}/token`;
}

function daemonSet(config: ResolvedConfig, options: KubeProxyOptions): V1DaemonSet & { kind: 'DaemonSet' } {
  const selector = { 'k8s-app': KUBE_PROXY_NAME };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: KUBE_PROXY_NAME, namespace: NS, labels: { ...selector } },
    spec: {
      selector: { matchLabels: { ...selector } },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: { ...selector } },
        spec: {
          priorityClassName: 'system-node-critical',
          containers: [
            {
              name: KUBE_PROXY_NAME,
              image: config.images.kubeProxy,
              imagePullPolicy: 'IfNotPresent',
              command: ['/usr/local/bin/kube-proxy', `--config=${MOUNT_DIR}/${KUBE_PROXY_CONFIG_KEY}`, '--hostname-override=$(NODE_NAME)'],
              securityContext: { privileged: true },
              volumeMounts: [
                { mountPath: MOUNT_DIR, name: KUBE_PROXY_NAME },
                { mountPath: '/run/xtables.lock', name: 'xtables-lock' },
                { mountPath: '/lib/modules', name: 'lib-modules', readOnly: true },
              ],
              env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }, ...(options.env ?? [])],
            },
          ],
          hostNetwork: true,
          serviceAccountName: KUBE_PROXY_NAME,
          affinity: placementAffinity(options),
          volumes: [
            { name: KUBE_PROXY_NAME, configMap: { name: KUBE_PROXY_NAME } },
            { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
            { name: 'lib-modules', hostPath: { path: '/lib/modules' } },
          ],
          // kube-proxy tolerates every taint: Services must work on every node that runs pods
          tolerations: [{ operator: 'Exists' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
        },
      },
    },
  };
}

/** The kube-proxy objects, in kubeadm's create order. */
export function kubeProxyObjects(config: ResolvedConfig, options: KubeProxyOptions): KubeObject[] {
  const cm = configMap(KUBE_PROXY_NAME, NS, {
    'kubeconfig.conf': kubeProxyKubeconfig(config.clusterAPIServerURL),
    [KUBE_PROXY_CONFIG_KEY]: goYaml(options.componentConfig).trimEnd(),
  });
  cm.metadata!.labels = { app: KUBE_PROXY_NAME };
  const readConfig = role(KUBE_PROXY_NAME, NS, [namedRule('configmaps', [KUBE_PROXY_NAME])]);
  return [
    { ...(options.userSupplied ? cm : signConfigMap(cm)), kind: 'ConfigMap' },
    daemonSet(config, options),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: KUBE_PROXY_NAME, namespace: NS } },
    {
      ...clusterRoleBinding('kubeadm:node-proxier', 'system:node-proxier', [{ kind: 'ServiceAccount', name: KUBE_PROXY_NAME, namespace: NS }]),
      kind: 'ClusterRoleBinding',
    },
    { ...readConfig, kind: 'Role' },
    // kubeadm's subject has no apiGroup (the API server defaults it): the same object as kubeadm's
    { ...roleBinding(KUBE_PROXY_NAME, NS, KUBE_PROXY_NAME, [{ kind: 'Group', name: DEFAULT_NODE_TOKEN_GROUP }]), kind: 'RoleBinding' },
  ];
}
