/**
 * "Create or update" for the object kinds kubeadm's addon phase writes, as one table: each kind's
 * resource (for kubeadm's dry-run lines) and the create/replace calls. Cluster-scoped kinds ignore
 * the namespace. ConfigMaps and RBAC go through their own helpers (configmap.ts, rbac.ts).
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1DaemonSet,
  V1Deployment,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { applyConfigMap } from './configmap.js';
import { statusCode } from './errors.js';
import { applyClusterRole, applyClusterRoleBinding } from './rbac.js';
import { createOrReplace } from './retry.js';

/** The objects the table knows, tagged by their `kind`. */
export type KubeObject =
  | (V1ConfigMap & { kind: 'ConfigMap' })
  | (V1ServiceAccount & { kind: 'ServiceAccount' })
  | (V1Service & { kind: 'Service' })
  | (V1Deployment & { kind: 'Deployment' })
  | (V1DaemonSet & { kind: 'DaemonSet' })
  | (V1ClusterRole & { kind: 'ClusterRole' })
  | (V1ClusterRoleBinding & { kind: 'ClusterRoleBinding' })
  | (V1Role & { kind: 'Role' })
  | (V1RoleBinding & { kind: 'RoleBinding' });

export type KubeKind = KubeObject['kind'];
type ObjectOf<K extends KubeKind> = Extract<KubeObject, { kind: K }>;

interface Ref {
  name: string;
  namespace: string;
}

interface KindEntry<K extends KubeKind> {
  /** Plural resource name and API group/version, as kubeadm's dry-run client names them. */
  resource: string;
  groupVersion: string;
  apply: (c: KubeClient, obj: ObjectOf<K>, ref: Ref) => Promise<unknown>;
}

/**
 * kubeadm's createDNSService: a Service whose ClusterIP is taken answers 422 Invalid rather than
 * 409; either way it is updated (the manifest's resourceVersion "0" makes that unconditional).
 */
const replaceOnInvalid = async <T>(create: () => Promise<T>, replace: () => Promise<T>): Promise<T> => {
  try {
    return await createOrReplace(create, replace);
  } catch (err) {
    if (statusCode(err) === 422) return replace();
    throw err;
  }
};

const KINDS: { readonly [K in KubeKind]: KindEntry<K> } = {
  ConfigMap: { resource: 'configmaps', groupVersion: 'core/v1', apply: (c, obj) => applyConfigMap(c, obj) },
  ServiceAccount: {
    resource: 'serviceaccounts',
    groupVersion: 'core/v1',
    apply: (c, body, { name, namespace }) =>
      createOrReplace(
        () => c.core.createNamespacedServiceAccount({ namespace, body }),
        () => c.core.replaceNamespacedServiceAccount({ name, namespace, body }),
      ),
  },
  Service: {
    resource: 'services',
    groupVersion: 'core/v1',
    apply: (c, body, { name, namespace }) =>
      replaceOnInvalid(
        () => c.core.createNamespacedService({ namespace, body }),
        () => c.core.replaceNamespacedService({ name, namespace, body }),
      ),
  },
  Deployment: {
    resource: 'deployments',
    groupVersion: 'apps/v1',
    apply: (c, body, { name, namespace }) =>
      createOrReplace(
        () => c.apps.createNamespacedDeployment({ namespace, body }),
        () => c.apps.replaceNamespacedDeployment({ name, namespace, body }),
      ),
  },
  DaemonSet: {
    resource: 'daemonsets',
    groupVersion: 'apps/v1',
    apply: (c, body, { name, namespace }) =>
      createOrReplace(
        () => c.apps.createNamespacedDaemonSet({ namespace, body }),
        () => c.apps.replaceNamespacedDaemonSet({ name, namespace, body }),
      ),
  },
  ClusterRole: { resource: 'clusterroles', groupVersion: 'rbac.authorization.k8s.io/v1', apply: (c, obj) => applyClusterRole(c, obj) },
  ClusterRoleBinding: { resource: 'clusterrolebindings', groupVersion: 'rbac.authorization.k8s.io/v1', apply: (c, obj) => applyClusterRoleBinding(c, obj) },
  Role: {
    resource: 'roles',
    groupVersion: 'rbac.authorization.k8s.io/v1',
    apply: (c, body, { name, namespace }) =>
      createOrReplace(
        () => c.rbac.createNamespacedRole({ namespace, body }),
        () => c.rbac.replaceNamespacedRole({ name, namespace, body }),
      ),
  },
  RoleBinding: {
    resource: 'rolebindings',
    groupVersion: 'rbac.authorization.k8s.io/v1',
    apply: (c, body, { name, namespace }) =>
      createOrReplace(
        () => c.rbac.createNamespacedRoleBinding({ namespace, body }),
        () => c.rbac.replaceNamespacedRoleBinding({ name, namespace, body }),
      ),
  },
};

function entry<K extends KubeKind>(kind: K): KindEntry<K> {
  return KINDS[kind] as KindEntry<K>;
}

/** Creates the object, or replaces the one already there (kubeadm's apiclient.CreateOrUpdate). */
export async function applyObject(c: KubeClient, obj: KubeObject): Promise<void> {
  const ref = { name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace ?? '' };
  await (entry(obj.kind).apply as (c: KubeClient, o: KubeObject, r: Ref) => Promise<unknown>)(c, obj, ref);
}

/** `"services" in API group "core/v1"`: how kubeadm's dry-run client names the object's resource. */
export function resourceOf(obj: KubeObject): { resource: string; groupVersion: string } {
  const { resource, groupVersion } = entry(obj.kind);
  return { resource, groupVersion };
}
