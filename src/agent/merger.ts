/**
 * The merger: per-source complete snapshots → one desired set → add/update/remove events. Keyed by
 * `namespace/name` (the full `<name>-<node>`), so an edit (new hash = new UID) is one `update`
 * carrying the previous pod, and the workers can stop it completely before starting the new one.
 * A pod declared by two sources goes to the first source in SOURCE_ORDER; the other gets an error
 * naming both. Pure and synchronous: no I/O, no clock except the `since` of new errors.
 */
import { podKey } from './identity.js';
import type { PodEvent, SourceError, StaticPod } from './pod-types.js';
import type { SourceSnapshot } from './sources/types.js';

/** Which source wins a pod both declare: local files over the network. */
export const SOURCE_ORDER: readonly StaticPod['source'][] = ['file', 'http'];

export class Merger {
  private readonly snapshots = new Map<StaticPod['source'], SourceSnapshot>();
  private desired = new Map<string, StaticPod>();
  private conflicts = new Map<string, SourceError>();

  /** Takes a source's new snapshot; returns the events, removes first, then updates, then adds. */
  update(snapshot: SourceSnapshot): PodEvent[] {
    this.snapshots.set(snapshot.source, snapshot);
    const next = new Map<string, StaticPod>();
    const conflicts = new Map<string, SourceError>();
    for (const source of SOURCE_ORDER) {
      for (const pod of this.snapshots.get(source)?.pods ?? []) {
        const key = podKey(pod);
        const winner = next.get(key);
        if (!winner) {
          next.set(key, pod);
          continue;
        }
        const message = `${pod.origin}: pod "${key}" is also declared by ${winner.origin} (${winner.source} source), which wins; this one is ignored`;
        const id = `${pod.origin}\0${message}`;
        conflicts.set(id, { source: pod.source, origin: pod.origin, message, since: this.conflicts.get(id)?.since ?? new Date() });
      }
    }
    this.conflicts = conflicts;

    const removes: PodEvent[] = [];
    const updates: PodEvent[] = [];
    const adds: PodEvent[] = [];
    for (const [key, pod] of this.desired) {
      if (!next.has(key)) removes.push({ type: 'remove', pod });
    }
    for (const [key, pod] of next) {
      const previous = this.desired.get(key);
      if (!previous) adds.push({ type: 'add', pod });
      else if (previous.hash !== pod.hash) updates.push({ type: 'update', pod, previous });
    }
    this.desired = next;
    const byKey = (a: PodEvent, b: PodEvent): number => podKey(a.pod).localeCompare(podKey(b.pod));
    return [...removes.sort(byKey), ...updates.sort(byKey), ...adds.sort(byKey)];
  }

  /** The desired pods, sorted by namespace/name. */
  pods(): StaticPod[] {
    return [...this.desired.values()].sort((a, b) => podKey(a).localeCompare(podKey(b)));
  }

  /** Every current source error, including pods refused because another source declares them. */
  errors(): SourceError[] {
    const all: SourceError[] = [];
    for (const source of SOURCE_ORDER) all.push(...(this.snapshots.get(source)?.errors ?? []));
    all.push(...this.conflicts.values());
    return all;
  }
}
