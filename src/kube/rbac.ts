/** RBAC objects kubeadm creates, as data: builders plus idempotent "create or update" calls. */
import type { RbacV1Subject, V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { createOrReplace } from './retry.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export const group = (name: string): RbacV1Subject => ({ kind: 'Group', apiGroup: RBAC_GROUP, name });
export const user = (name: string): RbacV1Subject => ({ kind: 'User', apiGroup: RBAC_GROUP, name });

/** A rule allowing `verbs` on named objects of one core resource. */
export const namedRule = (resource: string, names: string[], verbs: string[] = ['get']): V1PolicyRule => ({
  apiGroups: [''],
  resources: [resource],
  resourceNames: names,
  verbs,
});

export function role(name: string, namespace: string, rules: V1PolicyRule[]): V1Role {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'Role', metadata: { name, namespace }, rules };
}

export function roleBinding(name: string, namespace: string, roleName: string, subjects: RbacV1Subject[]): V1RoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: roleName },
    subjects,
  };
}

export function clusterRole(name: string, rules: V1PolicyRule[]): V1ClusterRole {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: { name }, rules };
}

export function clusterRoleBinding(name: string, clusterRoleName: string, subjects: RbacV1Subject[]): V1ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: clusterRoleName },
    subjects,
  };
}

/** A Role and a RoleBinding of the same name (kubeadm's usual pair). */
export async function applyRoleAndBinding(c: KubeClient, r: V1Role, subjects: RbacV1Subject[]): Promise<void> {
  const { name, namespace } = r.metadata as { name: string; namespace: string };
  await createOrReplace(
    () => c.rbac.createNamespacedRole({ namespace, body: r }),
    () => c.rbac.replaceNamespacedRole({ name, namespace, body: r }),
  );
  const rb = roleBinding(name, namespace, name, subjects);
  await createOrReplace(
    () => c.rbac.createNamespacedRoleBinding({ namespace, body: rb }),
    () => c.rbac.replaceNamespacedRoleBinding({ name, namespace, body: rb }),
  );
}

export async function applyClusterRole(c: KubeClient, r: V1ClusterRole): Promise<void> {
  await createOrReplace(
    () => c.rbac.createClusterRole({ body: r }),
    () => c.rbac.replaceClusterRole({ name: r.metadata!.name!, body: r }),
  );
}

export async function applyClusterRoleBinding(c: KubeClient, b: V1ClusterRoleBinding): Promise<void> {
  await createOrReplace(
    () => c.rbac.createClusterRoleBinding({ body: b }),
    () => c.rbac.replaceClusterRoleBinding({ name: b.metadata!.name!, body: b }),
  );
}
