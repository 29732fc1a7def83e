/**
 * kubeadm's EnsureAdminClusterRoleBinding: admin.conf (O=kubeadm:cluster-admins) is only useful once
 * the ClusterRoleBinding `kubeadm:cluster-admins` → cluster-admin exists. Try with admin.conf first
 * (it works on re-runs); when that is Forbidden, create the binding with super-admin.conf
 * (O=system:masters). Every post-API phase gets its client from the workflow's `adminClient()`,
 * which does this once per run (phases/data.ts).
 */
import path from 'node:path';
import { CLUSTER_ADMINS_GROUP, KUBECONFIG_FILES } from '../constants.js';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import { kubeClient, type KubeClient } from './client.js';
import { apiErrorMessage, isAlreadyExists, isForbidden } from './errors.js';
import { clusterRoleBinding, group } from './rbac.js';
import { isTransient, RetryTimeoutError, withRetry } from './retry.js';

export interface ClusterAdminsInput {
  host: Host;
  /** The kubernetes dir holding admin.conf and super-admin.conf (host path). */
  kubernetesDir: string;
  /** Per API call, retries included (timeouts.kubernetesAPICall). */
  timeoutMs: number;
}

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

/** The admin.conf client once `kubeadm:cluster-admins` authorizes it. */
export async function ensureClusterAdmins(input: ClusterAdminsInput): Promise<KubeClient> {
  const { host, timeoutMs } = input;
  const adminConf = path.posix.join(input.kubernetesDir, KUBECONFIG_FILES.admin);
  const superAdminConf = path.posix.join(input.kubernetesDir, KUBECONFIG_FILES.superAdmin);
  const admin = await kubeClient(adminConf, host);
  const notForbidden = (err: unknown): boolean => isTransient(err) && !isForbidden(err);
  try {
    if (await withRetry(() => tryCreate(admin), { timeoutMs, retryIf: notForbidden, what: 'creating ClusterRoleBinding kubeadm:cluster-admins' })) {
      return admin;
    }
    if (!(await host.exists(superAdminConf))) {
      throw new HostError(`admin.conf is not authorized and ${host.path(superAdminConf)} does not exist`, {
        hint: 'create the ClusterRoleBinding kubeadm:cluster-admins with a system:masters identity, or run the kubeconfig phase',
      });
    }
    const superAdmin = await kubeClient(superAdminConf, host);
    const ok = await withRetry(() => tryCreate(superAdmin), { timeoutMs, what: 'creating ClusterRoleBinding kubeadm:cluster-admins' });
    if (!ok) throw new HostError('super-admin.conf may not create ClusterRoleBinding kubeadm:cluster-admins');
    // RBAC caches: admin.conf may need a moment before the new binding authorizes it.
    await withRetry(() => admin.core.listNamespace({ limit: 1 }), { timeoutMs, what: 'waiting for admin.conf to be authorized' });
    return admin;
  } catch (err) {
    if (err instanceof HostError) throw err;
    const msg = err instanceof RetryTimeoutError ? err.message : apiErrorMessage(err);
    throw new HostError(`could not set up cluster admin access: ${msg}`, { hint: 'check that the API server is up (kubestrap ps)', cause: err });
  }
}
