/**
 * Mirror pods, reconciled: one per static pod (created, status-patched, recreated when deleted,
 * replaced when the hash changes, removed when the static pod goes away), Warning events for a
 * static pod's errors, and foreign pods bound to this node rejected. Needs a registered Node.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/client.js';
import { isAlreadyExists, isConflict, isForbidden, isNotFound } from '../../kube/errors.js';
import type { Logger } from '../log.js';
import type { PodState, StaticPod } from '../pod-types.js';
import { needsDeletionConfirmed, needsRejection, podEvent, rejectEventMessage, rejectionStatus, REJECT_REASON } from './foreign.js';
import { buildMirrorPod, isMirrorOf, isMirrorPod, mirrorStatus, statusFingerprint, statusPatch, type NodeRef } from './mirror-pod.js';

export interface ReconcileOptions {
  nodeName: string;
  nodeIP: string;
  /** The workers' current pods; read on every sync. */
  states: () => PodState[];
  /** False until every source delivered its first snapshot (then no mirror is deleted). */
  sourcesReady?: () => boolean;
}

/** The counters the reconciler keeps for MirrorSync's health. */
export interface ReconcileHealth {
  mirrorPods: number;
  rejectedPods: number;
}

const podKey = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;

export class MirrorReconciler {
  private readonly patched = new Map<string, string>(); // mirror UID → status fingerprint
  private readonly reported = new Map<string, Set<string>>(); // static pod UID → errors already sent as events
  private readonly rejected = new Set<string>(); // UIDs of foreign pods rejected
  /** Set when part of a sync failed: the next one should come soon, not after a full resync period. */
  retrySoon = false;

  constructor(
    private client: KubeClient,
    private readonly opts: ReconcileOptions,
    private readonly log: Logger,
    private readonly events: { fail(what: string, err: unknown): void },
    private readonly health: ReconcileHealth,
  ) {}

  /** New credentials (a rotated certificate): later calls use this client. */
  setClient(client: KubeClient): void {
    this.client = client;
  }

  /** A new Node: the status fingerprints of the old one's mirrors mean nothing now. */
  nodeRegistered(): void {
    this.patched.clear();
  }

  /** One reconciliation of the API's pods on this node against the workers' static pods. */
  async syncOnce(node: NodeRef): Promise<void> {
    const { core } = this.client;
    const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.opts.nodeName}` });
    const existing = new Map(list.items.map((p) => [podKey(p.metadata?.namespace, p.metadata?.name), p]));
    const states = this.opts.states();
    const wanted = new Set(states.map((st) => podKey(st.pod.namespace, st.pod.name)));
    // pods are independent: a few at a time, not one round trip after another
    const outcomes = await mapLimited(states, MIRROR_CONCURRENCY, (st) => this.syncMirror(st, existing.get(podKey(st.pod.namespace, st.pod.name)), node));
    const forbidden = outcomes.find((o) => o.error !== undefined && isForbidden(o.error));
    if (forbidden) throw forbidden.error; // likely a stale Node UID: re-register
    const mirrors = outcomes.filter((o) => o.mirrored).length;

    const ready = this.opts.sourcesReady?.() ?? true;
    for (const [key, pod] of existing) {
      if (wanted.has(key)) continue;
      if (isMirrorPod(pod)) {
        if (ready) await this.deleteMirror(pod).catch((err: unknown) => this.events.fail(`deleting mirror pod ${key}`, err));
      } else if (needsDeletionConfirmed(pod)) {
        await this.confirmDeletion(pod).catch((err: unknown) => this.events.fail(`deleting pod ${key}`, err));
      } else if (needsRejection(pod) && !this.rejected.has(pod.metadata?.uid ?? '')) {
        await this.reject(pod).catch((err: unknown) => this.events.fail(`rejecting pod ${key}`, err));
      }
    }
    for (const uid of this.reported.keys()) {
      if (!states.some((s) => s.pod.uid === uid)) this.reported.delete(uid);
    }
    this.health.mirrorPods = mirrors;
  }

  /** Creates (or replaces) one static pod's mirror and brings its status up to date; whether it has one, and what failed. */
  private async syncMirror(st: PodState, current: V1Pod | undefined, node: NodeRef): Promise<{ mirrored: boolean; error?: unknown }> {
    const sp = st.pod;
    const key = podKey(sp.namespace, sp.name);
    let mirror = current;
    if (mirror && !isMirrorPod(mirror)) {
      this.events.fail(`pod ${key} exists and is not a mirror pod`, new Error('kept as is; the static pod gets no mirror'));
      return { mirrored: false };
    }
    try {
      if (mirror && (!isMirrorOf(mirror, sp) || mirror.metadata?.deletionTimestamp)) {
        await this.deleteMirror(mirror);
        mirror = undefined;
      }
      mirror ??= await this.createMirror(sp, node);
      if (!mirror) return { mirrored: false };
      await this.patchStatus(mirror, st);
      await this.reportErrors(mirror, st);
      return { mirrored: true };
    } catch (error) {
      this.retrySoon = true;
      this.events.fail(`mirror pod ${key}`, error);
      return { mirrored: mirror !== undefined, error };
    }
  }

  private async createMirror(sp: StaticPod, node: NodeRef): Promise<V1Pod | undefined> {
    const { core } = this.client;
    try {
      const created = await core.createNamespacedPod({ namespace: sp.namespace, body: buildMirrorPod(sp, node) });
      this.log.info('created mirror pod', { pod: `${sp.namespace}/${sp.name}`, hash: sp.hash });
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Created by an earlier attempt whose answer was lost: fine if it carries the same hash.
      const current = await core.readNamespacedPod({ name: sp.name, namespace: sp.namespace });
      return isMirrorOf(current, sp) ? current : undefined;
    }
  }

  /** Deletes with grace 0 and a UID precondition, so a mirror someone just recreated survives. */
  private async deleteMirror(pod: V1Pod): Promise<void> {
    if (await this.deleteNow(pod)) this.log.info('deleted mirror pod', { pod: `${pod.metadata!.namespace!}/${pod.metadata!.name!}` });
    this.patched.delete(pod.metadata!.uid!);
  }

  /** Grace 0, this pod's UID only; false when it is gone or replaced already. */
  private async deleteNow(pod: V1Pod): Promise<boolean> {
    try {
      await this.client.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
      return true;
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
      return false;
    }
  }

  private async patchStatus(mirror: V1Pod, st: PodState): Promise<void> {
    const uid = mirror.metadata!.uid!;
    const status = mirrorStatus(st, this.opts.nodeIP);
    const fp = statusFingerprint(status);
    if (this.patched.get(uid) === fp) return;
    try {
      await this.client.core.patchNamespacedPodStatus(
        { name: mirror.metadata!.name!, namespace: mirror.metadata!.namespace!, body: statusPatch(uid, status) },
        this.client.strategicMergePatch,
      );
      this.patched.set(uid, fp);
    } catch (err) {
      // The mirror was deleted or replaced since the list: the next sync handles the new one.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** One Warning event per distinct error of a static pod, on its mirror pod. */
  private async reportErrors(mirror: V1Pod, st: PodState): Promise<void> {
    let seen = this.reported.get(st.pod.uid);
    if (!seen) this.reported.set(st.pod.uid, (seen = new Set()));
    for (const e of [...seen]) if (!st.errors.includes(e)) seen.delete(e); // a recurring error is reported again
    for (const error of st.errors) {
      if (seen.has(error)) continue;
      const reason = /pars|yaml|manifest|source/i.test(error) ? 'FailedToParseManifest' : 'Failed';
      await this.client.core.createNamespacedEvent({
        namespace: st.pod.namespace,
        body: podEvent(mirror, this.opts.nodeName, 'Warning', reason, error),
      });
      seen.add(error);
    }
  }

  /** A deleted API pod bound here: nothing runs, so the deletion is confirmed at once. */
  private async confirmDeletion(pod: V1Pod): Promise<void> {
    await this.deleteNow(pod);
    this.rejected.delete(pod.metadata!.uid!);
  }

  /** Keeps a pod bound here Pending with reason StaticPodsOnly (foreign.ts says why not Failed) and records an event. */
  private async reject(pod: V1Pod): Promise<void> {
    const { core } = this.client;
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    const status = rejectionStatus(this.opts.nodeName);
    try {
      await core.patchNamespacedPodStatus({ name, namespace, body: statusPatch(pod.metadata!.uid!, status) }, this.client.strategicMergePatch);
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
    await core
      .createNamespacedEvent({ namespace, body: podEvent(pod, this.opts.nodeName, 'Warning', REJECT_REASON, rejectEventMessage(this.opts.nodeName)) })
      .catch((err: unknown) => this.events.fail(`event for rejected pod ${namespace}/${name}`, err));
    this.rejected.add(pod.metadata!.uid!);
    this.health.rejectedPods++;
    this.log.info('pod bound to this node will not run here', { pod: `${namespace}/${name}`, reason: REJECT_REASON });
  }
}

/** Mirror pods synced at the same time: a control plane's handful at once, a big node without a burst of connections. */
const MIRROR_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls running; results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
