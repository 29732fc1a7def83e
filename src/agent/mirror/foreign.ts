/**
 * Pods the scheduler or a DaemonSet bound to this node. The agent runs static pods only, so such a
 * pod never starts here. The kubelet rejects a pod it cannot admit with phase Failed; the agent
 * deliberately does not: its "no" is permanent for this node, and a Failed pod is replaced by its
 * controller at once (a ReplicaSet, without backoff, and the scheduler likes the empty agent node)
 * or deleted and recreated by a DaemonSet (backoff up to 15 min, forever). Instead the pod stays
 * Pending with reason `StaticPodsOnly` (what `kubectl get pods` shows as STATUS), a Ready=False
 * condition saying why, and one Warning event saying what to do. Controllers count it and leave it
 * alone; a Deployment's rollout reports ProgressDeadlineExceeded. Deleting it works as on a kubelet
 * node: the agent confirms the deletion (it has no containers to stop).
 */
import type { CoreV1Event, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { LABEL_STATIC_PODS_ONLY } from '../annotations.js';

export const REJECT_REASON = 'StaticPodsOnly';
export const AGENT_COMPONENT = 'kubestrap-agent';

/** status.message: why it does not start. */
export function rejectMessage(nodeName: string): string {
  return `node ${nodeName} runs the kubestrap agent, which runs static pods only: this pod is not started here`;
}

/** The event's message: why, and what to do. */
export function rejectEventMessage(nodeName: string): string {
  return (
    `${rejectMessage(nodeName)}. Run it on a node with a kubelet: keep it off nodes labelled ${LABEL_STATIC_PODS_ONLY}=true ` +
    `(nodeAffinity: ${LABEL_STATIC_PODS_ONLY} DoesNotExist), do not set spec.nodeName to ${nodeName}, or make it a static pod in the node's manifest directory`
  );
}

/** Terminal pods, pods being deleted and pods already marked need nothing. */
export function needsRejection(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded' || pod.metadata?.deletionTimestamp) return false;
  return pod.status?.reason !== REJECT_REASON;
}

/**
 * A deleted pod bound here waits for its node to confirm (graceful deletion of a scheduled,
 * non-terminal pod): the agent never started it, so it confirms at once.
 */
export function needsDeletionConfirmed(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return pod.metadata?.deletionTimestamp !== undefined && phase !== 'Failed' && phase !== 'Succeeded';
}

export function rejectionStatus(nodeName: string, now: Date = new Date()): V1PodStatus {
  const message = rejectMessage(nodeName);
  const condition = (type: string): V1PodCondition => ({ type, status: 'False', reason: REJECT_REASON, message, lastTransitionTime: now });
  return { phase: 'Pending', reason: REJECT_REASON, message, conditions: [condition('Ready'), condition('ContainersReady')] };
}

/** A core/v1 Event about a pod (involvedObject = the pod), as the kubelet's recorder writes it. */
export function podEvent(pod: V1Pod, nodeName: string, type: 'Normal' | 'Warning', reason: string, message: string, now: Date = new Date()): CoreV1Event {
  const name = pod.metadata?.name ?? 'unknown';
  const namespace = pod.metadata?.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Pod',
      name,
      namespace,
      uid: pod.metadata?.uid,
      resourceVersion: pod.metadata?.resourceVersion,
    },
    type,
    reason,
    message,
    source: { component: AGENT_COMPONENT, host: nodeName },
    reportingComponent: AGENT_COMPONENT,
    reportingInstance: nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}
