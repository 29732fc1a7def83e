/**
 * Replacing a running pod with a new version of itself (an edited manifest, e.g. a new image tag):
 * the new version first makes every image present — pulled, or for the process runtime the binary
 * found — while the old version keeps running; only then is the old one stopped. So a tag whose
 * image or binary is missing leaves the last good pod serving, and the new pod's containers wait
 * with the kubelet's reason (ErrImageNeverPull, ErrImagePull) and what to do. Pulling before the
 * stop also keeps the pull out of the component's downtime.
 */
import { ContainerStartError, KubestrapError, messageOf } from '../../errors.js';
import type { Runtime } from '../runtime/types.js';
import type { Rec } from './container-record.js';

/** The running version of a pod that a new version replaces. */
export interface Replacing {
  /** The old version's config hash, named in the waiting message. */
  hash: string;
  /** Stops the old version completely; called once every image of the new one is present. */
  handOver(): Promise<void>;
}

/** A runtime call retried with the crash backoff, its errors surfaced (PodWorker.retry). */
export type Retry = (what: string, fn: () => Promise<void>, onError: (err: unknown) => void) => Promise<void>;

/** The container's place in the pod, for errors: `spec.containers[etcd]`. */
export function containerField(rec: Rec): string {
  return `spec.${rec.init ? 'initContainers' : 'containers'}[${rec.spec.name}]`;
}

/** The kubelet's waiting reason for an error that keeps a container from starting. */
export function waitingReason(err: unknown): string {
  return err instanceof ContainerStartError ? err.reason : 'CreateContainerError';
}

/** Resolves once every container's image is present; until then each missing one waits with the reason. */
export async function stageImages(recs: readonly Rec[], runtime: Runtime, retry: Retry, old: Replacing): Promise<void> {
  for (const rec of recs) {
    const waiting = rec.view;
    await retry(
      `container ${rec.spec.name}`,
      () => runtime.ensureImage(rec.spec, containerField(rec)),
      (err) => {
        // the field and the hint too: the operator must learn which image and how to import it
        const what = err instanceof KubestrapError ? err.oneLine() : messageOf(err);
        rec.view = { waiting: { reason: waitingReason(err), message: `${what}; the running pod (config.hash ${old.hash}) keeps running until it is present` } };
      },
    );
    rec.view = waiting;
  }
}

/**
 * The image check of every container that will start, begun now so it overlaps the sandbox's
 * creation: the CRI does not order ImageStatus/PullImage after RunPodSandbox (the kubelet merely
 * does them one after the other). Each container's first start awaits its entry instead of asking
 * again, so an image error is the same ContainerStartError, surfaced at the same step. Every
 * promise is marked handled here: a sandbox failure or an abort may leave one never awaited.
 */
export function prefetchImages(recs: readonly Rec[], runtime: Runtime): Map<Rec, Promise<void>> {
  const checks = new Map<Rec, Promise<void>>();
  for (const rec of recs) {
    if (rec.completed || rec.ref) continue;
    const check = runtime.ensureImage(rec.spec, containerField(rec));
    check.catch(() => undefined);
    checks.set(rec, check);
  }
  return checks;
}
