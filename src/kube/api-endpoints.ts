/**
 * The API servers of the cluster as the `kubernetes` Service's EndpointSlice in `default` lists
 * them (each API server keeps its own address there through the endpoint-reconciler lease, and
 * drops out ≈ 15 s after it stops): what the node-local load balancer follows. A watch without a
 * resourceVersion first replays every slice as ADDED, so no separate list is needed; a closed watch
 * is started again after a second.
 */
import type { V1Role } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { role } from './rbac.js';

const SLICES_PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
/** The API servers' reconciler keeps one slice named like the Service; a field selector on the name lets RBAC name it too. */
const SLICE_NAME = 'kubernetes';

/** The Role init binds to `system:nodes` (the Node authorizer gives kubelets no EndpointSlice access): read that one slice. */
export const API_ENDPOINTS_ROLE = 'kubestrap:api-endpoints-reader';
export function apiEndpointsReaderRole(): V1Role {
  return role(API_ENDPOINTS_ROLE, 'default', [
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], resourceNames: [SLICE_NAME], verbs: ['get', 'list', 'watch'] },
  ]);
}

export interface SliceWatch {
  stop(): void;
}

/** Calls `onChange` with every current slice after each event. */
export function watchApiServerSlices<S extends { metadata?: { name?: string } }>(
  client: KubeClient,
  onChange: (slices: S[]) => void,
  log: (line: string) => void = () => undefined,
): SliceWatch {
  const slices = new Map<string, S>();
  let running = true;
  let abort: AbortController | undefined;
  const start = async (): Promise<void> => {
    const { Watch } = await import('./client-node.js');
    if (!running) return;
    slices.clear();
    const restart = (): void => {
      if (running) setTimeout(() => void start(), 1000).unref();
    };
    try {
      abort = await new Watch(client.kc).watch(
        SLICES_PATH,
        { fieldSelector: `metadata.name=${SLICE_NAME}` },
        (phase: string, obj: S) => {
          const name = obj.metadata?.name ?? '';
          if (phase === 'DELETED') slices.delete(name);
          else if (phase === 'ADDED' || phase === 'MODIFIED') slices.set(name, obj);
          else return;
          onChange([...slices.values()]);
        },
        (err: unknown) => {
          if (err && running) log(`[lb] EndpointSlice watch closed: ${err instanceof Error ? err.message : String(err)}; watching again`);
          restart();
        },
      );
      if (!running) abort.abort();
    } catch (err) {
      log(`[lb] cannot watch the kubernetes EndpointSlices: ${err instanceof Error ? err.message : String(err)}; retrying`);
      restart();
    }
  };
  void start();
  return {
    stop: () => {
      running = false;
      abort?.abort();
    },
  };
}
