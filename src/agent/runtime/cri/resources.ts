/**
 * Container resources as the kubelet hands them to the runtime (kuberuntime helpers_linux.go and
 * qos/policy.go): CPU shares from the request, CFS quota from the limit, memory limit, and the
 * OOM score adjustment of the pod's QoS class (node-critical static pods are treated as Guaranteed).
 */
import { parseQuantity as parseApiQuantity } from '../../../pod/validation/format.js';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { LinuxContainerResources } from '../../../cri/client.js';

export type LinuxResources = Pick<LinuxContainerResources, 'cpuPeriod' | 'cpuQuota' | 'cpuShares' | 'memoryLimitInBytes' | 'oomScoreAdj'>;

const CPU_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1000;
const GUARANTEED_OOM_SCORE_ADJ = -997;
const BESTEFFORT_OOM_SCORE_ADJ = 1000;

/** A Kubernetes quantity (`250m`, `1.5`, `128Mi`, `1e3`) as a number; undefined when absent or unreadable. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  return q === undefined ? undefined : parseApiQuantity(typeof q === 'string' ? q.trim() : q);
}

type ResourceMap = Record<string, string | number> | undefined;

function get(list: ResourceMap, name: string): number | undefined {
  return parseQuantity(list?.[name]);
}

/** Requests default to limits, as the API server's defaulting does. */
function requestOf(c: V1Container, name: string): number | undefined {
  return get(c.resources?.requests as ResourceMap, name) ?? get(c.resources?.limits as ResourceMap, name);
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export function qosClass(pod: V1Pod): QosClass {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    for (const name of ['cpu', 'memory']) {
      const req = requestOf(c, name);
      const lim = get(c.resources?.limits as ResourceMap, name);
      if (req || lim) any = true;
      if (lim === undefined || req !== lim) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function oomScoreAdj(pod: V1Pod, container: V1Container, nodeMemoryBytes: number): number {
  if (pod.spec?.priorityClassName === 'system-node-critical') return GUARANTEED_OOM_SCORE_ADJ;
  switch (qosClass(pod)) {
    case 'Guaranteed':
      return GUARANTEED_OOM_SCORE_ADJ;
    case 'BestEffort':
      return BESTEFFORT_OOM_SCORE_ADJ;
    default: {
      const request = requestOf(container, 'memory') ?? 0;
      const adj = Math.trunc(1000 - (1000 * request) / nodeMemoryBytes);
      if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
      return adj === BESTEFFORT_OOM_SCORE_ADJ ? adj - 1 : adj;
    }
  }
}

export function containerResources(pod: V1Pod, container: V1Container, nodeMemoryBytes: number): LinuxResources {
  const cpuRequest = requestOf(container, 'cpu');
  const cpuLimit = get(container.resources?.limits as ResourceMap, 'cpu');
  const memLimit = get(container.resources?.limits as ResourceMap, 'memory');
  const milli = (cpu: number): number => Math.round(cpu * 1000);
  return {
    cpuPeriod: cpuLimit === undefined ? 0 : CPU_PERIOD_US,
    cpuQuota: cpuLimit === undefined ? 0 : Math.max(MIN_QUOTA_US, Math.trunc((milli(cpuLimit) * CPU_PERIOD_US) / 1000)),
    cpuShares: Math.max(MIN_SHARES, Math.trunc((milli(cpuRequest ?? 0) * 1024) / 1000)),
    memoryLimitInBytes: memLimit === undefined ? 0 : Math.trunc(memLimit),
    oomScoreAdj: oomScoreAdj(pod, container, nodeMemoryBytes),
  };
}
