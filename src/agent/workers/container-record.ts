/**
 * What a pod worker keeps per container, and where its restart count starts: the checkpoint of an
 * adopted pod (plus one for a container that died while the agent was away), or the highest log
 * file of an earlier life of the same pod (kubelet calcRestartCountByLogDir).
 */
import { readdirSync } from 'node:fs';
import type { V1Container } from '@kubernetes/client-node';
import type { Host } from '../../host/host.js';
import { podLogDir } from '../logs/cri-log.js';
import type { StaticPod } from '../pod-types.js';
import type { ContainerProbes } from '../probes/prober.js';
import type { ContainerRef, ContainerRunState } from '../runtime/types.js';
import type { PodCheckpoint } from '../state/checkpoint.js';
import { CrashBackoff, type BackoffPolicy } from './backoff.js';
import type { ContainerView, Terminated } from './status.js';

export interface Rec {
  spec: V1Container;
  init: boolean;
  restartCount: number;
  ref?: ContainerRef;
  /** The previous container, kept until the next one replaces it (kubelet keeps one dead container). */
  deadRef?: ContainerRef;
  view: ContainerView['state'];
  last?: Terminated;
  startedAtMs?: number;
  probes?: ContainerProbes;
  /** Probe failures of the previous container, shown until the new one is ready. */
  lastProbeFailures: string[];
  /** Why we killed the current container (probe failure), reported in its termination. */
  killedFor?: string;
  /** Killed on purpose by restart(): start the next container at once, without backoff. */
  restartRequested?: boolean;
  completed: boolean;
  backoff: CrashBackoff;
}

/** What adoption found of this container's pod (the running containers and the checkpoint). */
export interface AdoptedPod {
  running: Map<string, ContainerRef>;
  checkpoint?: PodCheckpoint;
}

export function newRecord(c: V1Container, init: boolean, adopted: AdoptedPod | undefined, backoff: BackoffPolicy | undefined): Rec {
  const cp = adopted?.checkpoint?.containers.find((x) => x.name === c.name && x.init === init);
  // a container that died while the agent was away is restarted: that is one more restart
  const diedMeanwhile = cp?.ref !== undefined && !adopted?.running.has(c.name) && !(init && cp.completed);
  return {
    spec: c,
    init,
    restartCount: (cp?.restartCount ?? 0) + (diedMeanwhile ? 1 : 0),
    view: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
    completed: init && cp?.completed === true,
    lastProbeFailures: [],
    backoff: new CrashBackoff(backoff),
  };
}

/**
 * A pod that starts afresh but has logs from an earlier life (same UID: agent or host restart)
 * continues its restart counts after the highest `<n>.log` (kubelet calcRestartCountByLogDir), so
 * no attempt appends to an older attempt's log.
 */
export function restartCountsFromLogs(host: Host, pod: StaticPod, recs: readonly Rec[]): void {
  for (const rec of recs) {
    const dir = host.path(`${podLogDir(pod.namespace, pod.name, pod.uid)}/${rec.spec.name}`);
    let names: string[];
    try {
      names = readdirSync(dir); // a few entries, once per pod start; sync keeps the start path short
    } catch {
      continue;
    }
    const highest = Math.max(-1, ...names.map((n) => Number(/^(\d+)\.log/.exec(n)?.[1] ?? -1)));
    if (highest >= rec.restartCount) rec.restartCount = highest + 1;
  }
}

/** The terminated state of a container that exited (or vanished); a kill for a probe failure says so. */
export function termination(rec: Rec, containerID: string, exit: ContainerRunState, nowMs: number): Terminated {
  const killedFor = rec.killedFor;
  rec.killedFor = undefined;
  if (exit.state === 'exited') {
    return {
      exitCode: exit.exitCode,
      reason: exit.reason,
      message: killedFor ?? exit.message,
      startedAt: exit.startedAt ?? (rec.startedAtMs !== undefined ? new Date(rec.startedAtMs) : undefined),
      finishedAt: exit.finishedAt,
      containerID,
    };
  }
  return {
    exitCode: 255,
    reason: 'Unknown',
    message: killedFor ?? (exit.state === 'unknown' ? exit.reason : 'state unknown'),
    finishedAt: new Date(nowMs),
    containerID,
  };
}

/** What the pod status shows of each container. */
export function containerViews(recs: readonly Rec[], runtimeName: string): ContainerView[] {
  return recs.map((r) => ({
    name: r.spec.name,
    image: r.spec.image ?? '',
    imageID: r.ref?.imageRef ?? r.deadRef?.imageRef ?? '',
    containerID: r.ref ? `${runtimeName}://${r.ref.id}` : undefined,
    init: r.init,
    state: r.view,
    last: r.last,
    ready: !r.init && 'running' in r.view && (r.probes?.ready ?? false),
    started: 'running' in r.view && (r.probes?.started ?? r.init),
    restartCount: r.restartCount,
  }));
}

/** Probe failures to show: the current container's, or the previous one's until the new one is ready. */
export function probeErrors(recs: readonly Rec[]): string[] {
  const errors: string[] = [];
  for (const r of recs) {
    const current = [...(r.probes?.failures.values() ?? [])];
    const shown = current.length || r.probes?.ready ? current : r.lastProbeFailures;
    for (const f of shown) errors.push(`${r.spec.name}: ${f}`);
  }
  return errors;
}
