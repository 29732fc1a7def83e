/**
 * kubeadm's mark-control-plane: the control-plane role label, the exclude-from-LB label and the
 * NoSchedule taint (nodeRegistration.taints: unset = that taint, [] = none). Existing labels and
 * taints stay. The Node is the agent's to register, so this waits for it first.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { Taint } from '../../config/types.js';
import { LABEL_NODE_ROLE_CONTROL_PLANE } from '../../constants.js';
import { isConflict, isNotFound } from '../../kube/errors.js';
import { isTransient, withRetry } from '../../kube/retry.js';
import type { AdminClientData } from '../data.js';
import type { Phase } from '../runner.js';

export const CONTROL_PLANE_LABELS: readonly string[] = [LABEL_NODE_ROLE_CONTROL_PLANE, 'node.kubernetes.io/exclude-from-external-load-balancers'];
export const CONTROL_PLANE_TAINT: Taint = { key: LABEL_NODE_ROLE_CONTROL_PLANE, effect: 'NoSchedule' };

export function wantedTaints(configured: Taint[] | null | undefined): Taint[] {
  return configured ?? [CONTROL_PLANE_TAINT];
}

const sameTaint = (a: V1Taint, b: V1Taint): boolean => a.key === b.key && a.effect === b.effect;
const taintText = (t: Taint): string => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;

/** The merge patch that adds our labels and taints to the node, or undefined if it has them all. */
export function markPatch(node: V1Node, taints: Taint[]): Record<string, unknown> | undefined {
  const labels = node.metadata?.labels ?? {};
  const addLabels = Object.fromEntries(CONTROL_PLANE_LABELS.filter((l) => labels[l] !== '').map((l) => [l, '']));
  const current = node.spec?.taints ?? [];
  const addTaints = taints.filter((t) => !current.some((c) => sameTaint(c, t)));
  if (Object.keys(addLabels).length === 0 && addTaints.length === 0) return undefined;
  return {
    // resourceVersion makes the patch fail with 409 if the node changed since we read it.
    metadata: { resourceVersion: node.metadata?.resourceVersion, labels: addLabels },
    ...(addTaints.length > 0 ? { spec: { taints: [...current, ...addTaints] } } : {}),
  };
}

/** Shared with join --control-plane through AdminClientData. */
export const markControlPlanePhase: Phase<AdminClientData> = {
  name: 'mark-control-plane',
  help: 'Mark a node as a control-plane',
  run: async (ctx) => {
    const nodeName = ctx.config.nodeName;
    const taints = wantedTaints(ctx.config.init.nodeRegistration.taints);
    ctx.out.line('mark-control-plane', `Marking the node ${nodeName} as control-plane by adding the labels: [${CONTROL_PLANE_LABELS.join(' ')}]`);
    if (taints.length > 0) {
      ctx.out.line('mark-control-plane', `Marking the node ${nodeName} as control-plane by adding the taints [${taints.map(taintText).join(' ')}]`);
    }
    if (ctx.dryRun) return;
    const c = await ctx.adminClient();
    await withRetry(
      async () => {
        const node = await c.core.readNode({ name: nodeName });
        const patch = markPatch(node, taints);
        if (patch) await c.core.patchNode({ name: nodeName, body: patch }, c.mergePatch);
      },
      {
        timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall,
        // NotFound: the agent has not registered the Node yet; Conflict: it just updated it.
        retryIf: (err) => isNotFound(err) || isConflict(err) || isTransient(err),
        what: `marking node ${nodeName} as control-plane (is the agent running and registering the node?)`,
      },
    );
  },
};
