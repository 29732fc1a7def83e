/**
 * Mirror pods: the API-side copy of a static pod (kubelet pod/mirror_client.go), shaped so that the
 * NodeRestriction admission plugin accepts it from `system:node:<node>`.
 */
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { PodState, StaticPod } from '../pod-types.js';

import { ANNOTATION_HASH, ANNOTATION_MIRROR, ANNOTATION_SEEN, ANNOTATION_SOURCE } from '../annotations.js';

export interface NodeRef {
  name: string;
  uid: string;
}

/**
 * NodeRestriction wants: the mirror annotation, spec.nodeName = the node, exactly one controller
 * ownerReference to the node with its UID (no blockOwnerDeletion), and no service account or
 * API-object volumes. The static pod's spec is copied as is otherwise.
 */
export function buildMirrorPod(sp: StaticPod, node: NodeRef): V1Pod {
  const meta = sp.pod.metadata ?? {};
  const spec = { ...sp.pod.spec!, nodeName: node.name };
  delete spec.serviceAccountName;
  delete spec.serviceAccount;
  // ServiceAccount admission leaves mirror pods alone; a token volume request would be refused.
  spec.automountServiceAccountToken = false;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: sp.name,
      namespace: sp.namespace,
      labels: meta.labels,
      annotations: {
        ...meta.annotations,
        [ANNOTATION_HASH]: sp.hash,
        [ANNOTATION_SOURCE]: meta.annotations?.[ANNOTATION_SOURCE] ?? sp.source,
        [ANNOTATION_SEEN]: meta.annotations?.[ANNOTATION_SEEN] ?? new Date().toISOString(),
        [ANNOTATION_MIRROR]: sp.hash,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: true }],
    },
    spec,
  };
}

export const isMirrorPod = (pod: V1Pod): boolean => pod.metadata?.annotations?.[ANNOTATION_MIRROR] !== undefined;

/** kubelet's IsMirrorPodOf: the mirror carries the static pod's current hash. */
export const isMirrorOf = (mirror: V1Pod, sp: StaticPod): boolean => mirror.metadata?.annotations?.[ANNOTATION_MIRROR] === sp.hash;

/**
 * The status to write on the mirror: the worker's status, with the node's IP filled in where the
 * worker left it out (static control-plane pods use the host network, so pod IP = host IP).
 */
export function mirrorStatus(state: PodState, nodeIP: string): V1PodStatus {
  const s: V1PodStatus = { ...state.status };
  if (!s.hostIP) s.hostIP = nodeIP;
  if (!s.hostIPs) s.hostIPs = [{ ip: s.hostIP }];
  if (state.pod.pod.spec?.hostNetwork) {
    if (!s.podIP) s.podIP = s.hostIP;
    if (!s.podIPs) s.podIPs = [{ ip: s.podIP }];
  }
  return s;
}

/** A stable fingerprint of a status, to patch only when something changed. */
export function statusFingerprint(status: V1PodStatus): string {
  return JSON.stringify(status, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v));
}

/** The status patch body: the mirror's UID as a precondition, so a recreated mirror is not written by mistake. */
export function statusPatch(mirrorUid: string, status: V1PodStatus): { metadata: { uid: string }; status: V1PodStatus } {
  return { metadata: { uid: mirrorUid }, status };
}
