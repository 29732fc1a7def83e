/**
 * Pods the scheduler or a DaemonSet bound to this node. The agent only runs static pods, so it
 * rejects them the way the kubelet rejects a pod it cannot admit: phase Failed with a reason and
 * a message, instead of leaving them Pending forever.
 */
import type { CoreV1Event, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';

export const REJECT_REASON = 'NodeStaticPodsOnly';
export const AGENT_COMPONENT = 'kubestrap-agent';

export function rejectMessage(nodeName: string): string {
  return `Pod was rejected: node ${nodeName} runs static pods only (kubestrap agent); it cannot run pods from the API server`;
}

/** Terminal pods and mirror pods need nothing. */
export function needsRejection(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Failed' && phase !== 'Succeeded' && !pod.metadata?.deletionTimestamp;
}

export function rejectionStatus(nodeName: string): V1PodStatus {
  return { phase: 'Failed', reason: REJECT_REASON, message: rejectMessage(nodeName) };
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
