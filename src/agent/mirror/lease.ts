/** The node heartbeat Lease (`kube-node-lease/<node>`), as the kubelet's nodelease controller keeps it. */
import type { V1Lease } from '@kubernetes/client-node';
import { V1MicroTime } from '../../kube/client-node.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
/** kubelet: nodeLeaseRenewIntervalFraction 0.25 × 40 s. */
export const LEASE_RENEW_MS = 10_000;

export function buildLease(nodeName: string, nodeUid: string, now: Date): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
    },
    spec: {
      holderIdentity: nodeName,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      // MicroTime: the API server parses this field with six fractional digits, not JSON Date's three.
      renewTime: new V1MicroTime(now.getTime()),
    },
  };
}

/** The same Lease renewed now, keeping resourceVersion so a concurrent writer is detected. */
export function renewLease(lease: V1Lease, nodeName: string, nodeUid: string, now: Date): V1Lease {
  const fresh = buildLease(nodeName, nodeUid, now);
  return {
    ...fresh,
    metadata: { ...fresh.metadata, resourceVersion: lease.metadata?.resourceVersion },
    spec: { ...lease.spec, ...fresh.spec },
  };
}
