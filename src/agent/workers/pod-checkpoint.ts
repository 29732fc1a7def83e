/**
 * A pod worker's checkpoint writes: queued so they stay in order but off the start path (the
 * runtime's own view is the ground truth on adoption, the checkpoint only adds restart counts and
 * grace periods).
 */
import { messageOf } from '../../errors.js';
import type { StaticPod } from '../pod-types.js';
import { orderInfo } from '../start-order.js';
import type { CheckpointStore, PodCheckpoint } from '../state/checkpoint.js';
import type { Rec } from './container-record.js';
import type { WorkerLogger } from './logger.js';

export class CheckpointWriter {
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly pod: StaticPod,
    private readonly deps: { checkpoints: CheckpointStore; logger: WorkerLogger },
  ) {}

  /** Queues a write of the pod's current containers. */
  save(sandboxId: string | undefined, recs: readonly Rec[]): void {
    const cp: PodCheckpoint = {
      uid: this.pod.uid,
      hash: this.pod.hash,
      name: this.pod.name,
      namespace: this.pod.namespace,
      graceSeconds: this.pod.pod.spec?.terminationGracePeriodSeconds ?? 30,
      sandboxId,
      containers: recs.map((r) => ({ name: r.spec.name, init: r.init, restartCount: r.restartCount, ref: r.ref, completed: r.completed })),
      order: orderInfo(this.pod.pod),
    };
    this.persisting = this.persisting
      .then(() => this.deps.checkpoints.save(cp))
      .catch((err: unknown) => this.deps.logger.warn('cannot write checkpoint', { pod: this.pod.name, error: messageOf(err) }));
  }

  /** Resolves when queued writes are on disk. */
  persisted(): Promise<void> {
    return this.persisting;
  }

  /** After the queued writes: the pod is gone, so is its checkpoint. */
  async remove(): Promise<void> {
    await this.persisting;
    await this.deps.checkpoints.remove(this.pod.uid).catch(() => undefined);
  }
}
