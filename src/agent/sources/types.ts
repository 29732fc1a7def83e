/** What every pod source (file, http) gives the merger. */
import type { SourceError, StaticPod } from '../pod-types.js';

/**
 * A source's complete view: every pod it currently declares (last good content kept for origins
 * that broke) and every origin that has a problem. Never a delta, so a lost update heals itself.
 */
export interface SourceSnapshot {
  source: StaticPod['source'];
  pods: StaticPod[];
  errors: SourceError[];
  /** When the change behind this snapshot was observed (fs event / poll), for sync latency. */
  observedAt: number;
}

export type SnapshotListener = (snapshot: SourceSnapshot) => void;

export interface PodSource {
  readonly name: StaticPod['source'];
  /** Reads everything once (the first snapshot is emitted before this resolves), then watches/polls. */
  start(listener: SnapshotListener): Promise<void>;
  /** Stops watching and polling; emits nothing afterwards. */
  stop(): Promise<void>;
}
