/**
 * kubeadm's bootstrap-token phase: the token Secrets, the RBAC that lets token holders join
 * (get nodes, post CSRs, auto-approval, rotation), and the kube-public/cluster-info ConfigMap that
 * anonymous users may read for discovery, signed for our tokens as the controller-manager's
 * bootstrapsigner signs it.
 */
import type { AdminClientData } from '../data.js';
import type { Phase } from '../runner.js';
import { ConfigError, HostError } from '../../errors.js';
import { bootstrapTokenSecret, DEFAULT_NODE_TOKEN_GROUP, parseToken, tokenFromSecret } from '../../kube/bootstrap-token.js';
import { applyConfigMap, applySecret, configMap } from '../../kube/configmap.js';
import { CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, clusterInfoKubeconfig, clusterInfoSignatures } from '../../kube/discovery.js';
import {
  applyClusterRole,
  applyClusterRoleBinding,
  applyRoleAndBinding,
  clusterRole,
  clusterRoleBinding,
  group,
  namedRule,
  role,
  user,
} from '../../kube/rbac.js';
import { withRetry } from '../../kube/retry.js';
import type { KubeClient } from '../../kube/client.js';
import { releaseFor, type KubernetesRelease } from '../../config/versions.js';
import { apiEndpointsReaderRole } from '../../kube/api-endpoints.js';

interface RbacStep {
  line: string;
  apply: (c: KubeClient) => Promise<void>;
  /** Only for the minors it returns true for (kubeadm of that minor creates it). */
  when?: (release: KubernetesRelease) => boolean;
}

/** In kubeadm's order. */
const RBAC_STEPS: readonly RbacStep[] = [
  {
    line: 'Configured RBAC rules to allow Node Bootstrap tokens to get nodes',
    apply: async (c) => {
      await applyClusterRole(c, clusterRole('kubeadm:get-nodes', [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]));
      await applyClusterRoleBinding(c, clusterRoleBinding('kubeadm:get-nodes', 'kubeadm:get-nodes', [group(DEFAULT_NODE_TOKEN_GROUP)]));
    },
  },
  {
    line: 'Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials',
    apply: (c) => applyClusterRoleBinding(c, clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [group(DEFAULT_NODE_TOKEN_GROUP)])),
  },
  {
    line: 'Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token',
    apply: (c) =>
      applyClusterRoleBinding(
        c,
        clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
          group(DEFAULT_NODE_TOKEN_GROUP),
        ]),
      ),
  },
  {
    line: 'Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster',
    apply: (c) =>
      applyClusterRoleBinding(
        c,
        clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
          group('system:nodes'),
        ]),
      ),
  },
  {
    line: 'Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API',
    apply: (c) =>
      applyClusterRoleBinding(c, clusterRoleBinding('kubeadm:apiserver-kubelet-client', 'system:kubelet-api-admin', [user('kube-apiserver-kubelet-client')])),
    when: (release) => release.kubeletClientAuthorization === 'kubelet-api-admin-binding',
  },
  {
    // kubestrap's own (not kubeadm's): the node-local API load balancer follows the kubernetes EndpointSlice
    line: 'Configured RBAC rules to allow nodes to read the API server endpoints (the node-local load balancer)',
    apply: (c) => applyRoleAndBinding(c, apiEndpointsReaderRole(), [group('system:nodes')]),
  },
];

/** cluster-info carries admin.conf's server and CA, like kubeadm's CreateBootstrapConfigMapIfNotExists. */
function clusterInfoData(c: KubeClient): string {
  const cluster = c.kc.getCurrentCluster();
  if (!cluster?.caData) {
    throw new HostError(`${c.file} has no embedded certificate-authority-data`, { hint: 'regenerate it with the kubeconfig phase' });
  }
  return clusterInfoKubeconfig(cluster.server, Buffer.from(cluster.caData, 'base64'));
}

export const bootstrapTokenPhase: Phase<AdminClientData> = {
  name: 'bootstrap-token',
  help: 'Generates bootstrap tokens used to join a node to a cluster',
  prepare: (ctx) => {
    for (const [i, t] of ctx.config.init.bootstrapTokens.entries()) {
      if (!parseToken(t.token)) {
        throw new ConfigError(`bootstrap token "${t.token}" does not match [a-z0-9]{6}.[a-z0-9]{16}`, {
          field: `bootstrapTokens[${i}].token`,
          hint: 'use `kubestrap token generate` or leave it empty',
        });
      }
    }
  },
  run: async (ctx) => {
    const tokens = ctx.config.init.bootstrapTokens;
    if (tokens[0]) ctx.out.line('bootstrap-token', `Using token: ${tokens[0].token}`);
    ctx.out.line('bootstrap-token', 'Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles');
    const c = ctx.dryRun ? undefined : await ctx.adminClient();
    const opts = { timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall };
    if (c) {
      await withRetry(
        async () => {
          for (const t of tokens) await applySecret(c, bootstrapTokenSecret(t));
        },
        { ...opts, what: 'creating bootstrap token Secrets' },
      );
    }
    const release = releaseFor(ctx.config.cluster.kubernetesVersion);
    for (const { line, apply, when } of RBAC_STEPS) {
      if (when && !when(release)) continue;
      if (c) await withRetry(() => apply(c), { ...opts, what: line });
      ctx.out.line('bootstrap-token', line);
    }
    ctx.out.line('bootstrap-token', `Creating the "${CLUSTER_INFO}" ConfigMap in the "kube-public" namespace`);
    if (!c) return;
    const kubeconfig = clusterInfoData(c);
    await withRetry(
      async () => {
        await applyConfigMapKeepingSignatures(
          c,
          kubeconfig,
          clusterInfoSignatures(
            kubeconfig,
            tokens.map((t) => tokenFromSecret(bootstrapTokenSecret(t))),
          ),
        );
        await applyRoleAndBinding(c, role('kubeadm:bootstrap-signer-clusterinfo', CLUSTER_INFO_NAMESPACE, [namedRule('configmaps', [CLUSTER_INFO])]), [
          user('system:anonymous'),
        ]);
      },
      { ...opts, what: 'creating the cluster-info ConfigMap' },
    );
  },
};

/**
 * Creates cluster-info, or updates only its kubeconfig: the `jws-kubeconfig-*` keys of other
 * tokens belong to the bootstrapsigner and must survive a re-run. Our tokens' signatures are
 * written here, exactly as the signer would (so a join right after init finds them at once,
 * instead of waiting for the controller-manager; kubeadm join polls every 5 s).
 */
async function applyConfigMapKeepingSignatures(c: KubeClient, kubeconfig: string, signatures: Record<string, string>): Promise<void> {
  const existing = await c.core.readNamespacedConfigMap({ name: CLUSTER_INFO, namespace: CLUSTER_INFO_NAMESPACE }).catch(() => undefined);
  const kept = existing?.data?.kubeconfig === kubeconfig ? existing.data : { kubeconfig };
  await applyConfigMap(c, configMap(CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, { ...kept, ...signatures }));
}
