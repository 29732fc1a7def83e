/**
 * Every annotation the agent reads or writes, in one place: the kubelet's static-pod annotations
 * (kubernetes.io/config.*), which a kubelet would set the same way, and kubestrap's own: the start
 * order a manifest asks for (read by the agent, written by init's manifests) and the errors the
 * agent's /pods shows on a pod (read by `kubestrap ps`).
 */

/** Where the pod came from: `file` or `http` (kubelet ConfigSourceAnnotationKey). */
export const ANNOTATION_SOURCE = 'kubernetes.io/config.source';
/** When the agent first saw this version of the pod (kubelet ConfigFirstSeenAnnotationKey). */
export const ANNOTATION_SEEN = 'kubernetes.io/config.seen';
/** The pod's content hash, its identity across restarts (kubelet ConfigHashAnnotationKey). */
export const ANNOTATION_HASH = 'kubernetes.io/config.hash';
/** Set on a mirror pod to the hash of its static pod (kubelet ConfigMirrorAnnotationKey). */
export const ANNOTATION_MIRROR = 'kubernetes.io/config.mirror';

/** Comma-separated http(s) URLs a fresh start waits for (src/agent/start-order.ts). */
export const ANNOTATION_START_AFTER = 'kubestrap.io/start-after';
/** Comma-separated http(s) URLs this pod needs, for the stop order only (no wait at start). */
export const ANNOTATION_DEPENDS_ON = 'kubestrap.io/depends-on';

/** On /pods: the manifest is broken now and the pod runs its last good version. */
export const ANNOTATION_SOURCE_ERROR = 'kubestrap.io/source-error';
/** On /pods: the worker's current errors (start failures, probe failures), `; `-separated. */
export const ANNOTATION_ERRORS = 'kubestrap.io/errors';

/**
 * The label the agent puts on its Node: this node runs static pods only (no kubelet, no pod
 * networking), so API-bound pods cannot run here. kubestrap's addons (CoreDNS, kube-proxy) keep off
 * nodes that carry it by node affinity; any other pod bound here gets a status and an event from
 * the agent saying why it will not run. Not under kubernetes.io/k8s.io, so NodeRestriction lets a
 * node set it on itself.
 */
export const LABEL_STATIC_PODS_ONLY = 'node.kubestrap.io/static-pods-only';
