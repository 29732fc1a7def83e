/** What kubestrap's two addons share: keeping their pods off nodes that cannot run them. */
import type { V1Affinity } from '@kubernetes/client-node';

export interface AddonPlacement {
  /**
   * Nodes carrying this label (any value) get none of the addon's pods: kubestrap's agent runs
   * static pods only and labels its Node so (LABEL_STATIC_PODS_ONLY in src/agent/annotations.ts).
   * The only deviation from kubeadm's objects; unset renders them exactly as kubeadm does.
   */
  avoidNodeLabel?: string;
}

/** kubeadm's affinity plus, with avoidNodeLabel, a required node affinity `<label> DoesNotExist`. */
export function placementAffinity(placement: AddonPlacement, kubeadm: V1Affinity = {}): V1Affinity | undefined {
  const affinity: V1Affinity = { ...kubeadm };
  if (placement.avoidNodeLabel) {
    affinity.nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: placement.avoidNodeLabel, operator: 'DoesNotExist' }] }],
      },
    };
  }
  return Object.keys(affinity).length > 0 ? affinity : undefined;
}
