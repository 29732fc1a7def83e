/**
 * kubeadm's EnsureAdminClusterRoleBinding: admin.conf (O=kubeadm:cluster-admins) is only useful once
 * the ClusterRoleBinding `kubeadm:cluster-admins` → cluster-admin exists. Try with admin.conf first
 * (it works on re-runs); when that is Forbidden, create the binding with super-admin.conf
 * (O=system:masters). Every post-API phase gets its client from `adminClient`, which does this once.
 */
import path from 'node:path';
import { HostError } from '../../errors.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import { apiErrorMessage, isAlreadyExists, isForbidden } from '../../kube/errors.js';
import { clusterRoleBinding, group } from '../../kube/rbac.js';
import { isTransient, RetryTimeoutError, withRetry } from '../../kube/retry.js';
import type { InitContext } from './context.js';
import type { Phase } from '../runner.js';

export const CLUSTER_ADMINS_GROUP = 'kubeadm:cluster-admins';
const CLIENT_KEY = 'cluster-admins/client';

export const adminConfPath = (ctx: InitContext): string => path.posix.join(ctx.config.paths.kubernetesDir, 'admin.conf');
export const superAdminConfPath = (ctx: InitContext): string =>
  path.posix.join(ctx.config.paths.kubernetesDir, 'super-admin.conf');

const binding = clusterRoleBinding(CLUSTER_ADMINS_GROUP, 'cluster-admin', [group(CLUSTER_ADMINS_GROUP)]);

/** Creates the binding; true when it exists afterwards, false when this identity may not create it. */
async function tryCreate(c: KubeClient): Promise<boolean> {
  try {
    await c.rbac.createClusterRoleBinding({ body: binding });
    return true;
  } catch (err) {
    if (isAlreadyExists(err)) return true;
    if (isForbidden(err)) return false;
    throw err;
  }
}

export async function ensureClusterAdmins(ctx: InitContext): Promise<KubeClient> {
  const timeoutMs = ctx.config.timeoutsMs.kubernetesAPICall;
  const admin = await kubeClient(adminConfPath(ctx), ctx.host);
  const notForbidden = (err: unknown): boolean => isTransient(err) && !isForbidden(err);
  try {
    if (await withRetry(() => tryCreate(admin), { timeoutMs, retryIf: notForbidden, what: 'creating ClusterRoleBinding kubeadm:cluster-admins' })) {
      return admin;
    }
    if (!(await ctx.host.exists(superAdminConfPath(ctx)))) {
      throw new HostError(`admin.conf is not authorized and ${ctx.host.path(superAdminConfPath(ctx))} does not exist`, {
        hint: 'create the ClusterRoleBinding kubeadm:cluster-admins with a system:masters identity, or run the kubeconfig phase',
      });
    }
    const superAdmin = await kubeClient(superAdminConfPath(ctx), ctx.host);
    const ok = await withRetry(() => tryCreate(superAdmin), { timeoutMs, what: 'creating ClusterRoleBinding kubeadm:cluster-admins' });
    if (!ok) throw new HostError('super-admin.conf may not create ClusterRoleBinding kubeadm:cluster-admins');
    // RBAC caches: admin.conf may need a moment before the new binding authorizes it.
    await withRetry(() => admin.core.listNamespace({ limit: 1 }), { timeoutMs, what: 'waiting for admin.conf to be authorized' });
    return admin;
  } catch (err) {
    if (err instanceof HostError) throw err;
    const msg = err instanceof RetryTimeoutError ? err.message : apiErrorMessage(err);
    throw new HostError(`could not set up cluster admin access: ${msg}`, { hint: 'check that the API server is up (kubestrap ps)' });
  }
}

/** The admin.conf client, with `kubeadm:cluster-admins` ensured first (once per run). */
export async function adminClient(ctx: InitContext): Promise<KubeClient> {
  let pending = ctx.prepared.get(CLIENT_KEY) as Promise<KubeClient> | undefined;
  if (!pending) {
    pending = ensureClusterAdmins(ctx);
    ctx.prepared.set(CLIENT_KEY, pending);
    pending.catch(() => ctx.prepared.delete(CLIENT_KEY));
  }
  return pending;
}

/** Hidden: the other post-API phases do it on demand; runnable alone for repairs. */
export const clusterAdminsPhase: Phase<InitContext> = {
  name: 'cluster-admins',
  help: 'Create the kubeadm:cluster-admins ClusterRoleBinding that authorizes admin.conf',
  hidden: true,
  run: async (ctx) => {
    if (ctx.dryRun) {
      ctx.out.line('dryrun', 'Would create ClusterRoleBinding "kubeadm:cluster-admins"');
      return;
    }
    await adminClient(ctx);
  },
};
