/**
 * Pod workers: one PodWorker per static pod, driven by the merger's events. An update keeps the old
 * pod running until every image of the new one is present (image-stage.ts), then stops it completely
 * before the new one starts; a remove aborts its worker at once. After an agent
 * restart, adopt() matches what the runtime still runs against the checkpoint and the desired pods.
 */
import { defaultNodeIP } from '../../net/node-ip.js';
import { messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import type { PodEvent, PodState, SourceError, StaticPod } from '../pod-types.js';
import type { ProbeRunner } from '../probes/prober.js';
import type { ContainerRef, ManagedContainer, Runtime } from '../runtime/types.js';
import { CheckpointStore, DEFAULT_STATE_DIR, type PodCheckpoint } from '../state/checkpoint.js';
import type { BackoffPolicy } from './backoff.js';
import { realClock, type Clock } from './clock.js';
import { silentLogger, type WorkerLogger } from './logger.js';
import type { Replacing } from './image-stage.js';
import { PodWorker, type Adopted } from './pod-worker.js';
import { orderInfo, stopWaves, type OrderInfo } from '../start-order.js';

export type { Clock } from './clock.js';
export type { WorkerLogger } from './logger.js';

export interface PodWorkersOptions {
  runtime: Runtime;
  host: Host;
  nodeName: string;
  /** Node IP reported as hostIP/podIP for hostNetwork pods (default: first non-internal IPv4). */
  nodeIP?: string;
  /** Host path of the checkpoint directory (default /var/lib/kubestrap/agent). */
  stateDir?: string;
  logger?: WorkerLogger;
  clock?: Clock;
  /** Tests: shorter backoff, fake probes. */
  backoff?: BackoffPolicy;
  probeRunner?: ProbeRunner;
}

/** Counters for /metrics. */
export interface WorkerMetrics {
  pods: number;
  runningContainers: number;
  /** Container restarts since the agent started, summed over pods. */
  restartsTotal: number;
  /** Event received → all containers of the pod running, milliseconds, recent samples. */
  syncLatencyMs: number[];
  /** Containers killed because a liveness or startup probe failed. */
  probeFailuresTotal: number;
  startFailuresTotal: number;
}

const LATENCY_SAMPLES = 100;

function podKey(p: StaticPod): string {
  return `${p.namespace}/${p.name}`;
}

export class PodWorkers {
  private readonly workers = new Map<string, PodWorker>();
  /** Stops in progress per pod name: a new version of the pod starts only after they settle. */
  private readonly stopping = new Map<string, Promise<void>>();
  /** Workers of removed or replaced pods until their containers are stopped (what /pods still lists). */
  private readonly retiring = new Map<string, PodWorker>();
  /**
   * Per pod name: the old version still running while its successor (in `workers`) waits for its
   * images. Not in states(): the mirror pod and /pods show the version the manifest asks for.
   */
  private readonly held = new Map<string, PodWorker>();
  /**
   * Per pod name: containers of an old version found running at adoption whose manifest changed
   * while the agent was away; unsupervised (the checkpoint has no spec), they keep serving until the
   * new version's images are present, as `held` does.
   */
  private readonly orphans = new Map<string, { refs: ContainerRef[]; grace: number; checkpoint?: PodCheckpoint }>();
  private readonly listeners = new Set<(state: PodState) => void>();
  private readonly checkpoints: CheckpointStore;
  private readonly clock: Clock;
  private readonly logger: WorkerLogger;
  private readonly nodeIP: string;
  private readonly latencies: number[] = [];
  private restartsOfGone = 0;
  private probeFailuresOfGone = 0;
  private startFailuresOfGone = 0;
  private sourceErrors: SourceError[] = [];

  constructor(readonly options: PodWorkersOptions) {
    this.checkpoints = new CheckpointStore(options.host, options.stateDir ?? DEFAULT_STATE_DIR);
    this.clock = options.clock ?? realClock;
    this.logger = options.logger ?? silentLogger;
    this.nodeIP = options.nodeIP ?? defaultNodeIP();
  }

  /** add → start; update → the new pod's images present, then the old pod stopped completely, then the new started; remove → stop. */
  apply(event: PodEvent): void {
    switch (event.type) {
      case 'add':
        this.startPod(event.pod);
        break;
      case 'update':
        if (event.previous.uid === event.pod.uid) return;
        this.replacePod(event.previous, event.pod);
        break;
      case 'remove':
        this.stopPod(event.pod);
        void this.handOver(podKey(event.pod)); // a held old version goes too (tracked in `stopping`)
        break;
    }
  }

  /**
   * The new version stages its images while the old one runs (held); a version that is itself still
   * staging is dropped and its successor inherits the held one. Back to the held version (an undone
   * edit): it simply stays.
   */
  private replacePod(previous: StaticPod, pod: StaticPod): void {
    const key = podKey(pod);
    const held = this.held.get(key);
    if (held) {
      this.stopPod(previous); // the successor still staging: it runs nothing yet
      if (held.uid === pod.uid) {
        this.held.delete(key);
        this.workers.set(pod.uid, held);
        this.logger.info('keeping pod: the manifest is back to its running version', { pod: pod.name, namespace: pod.namespace, uid: pod.uid });
        this.emit(held);
        return;
      }
    } else {
      const old = this.workers.get(previous.uid);
      if (old) {
        this.workers.delete(previous.uid);
        this.held.set(key, old);
      }
    }
    const old = this.held.get(key);
    this.startPod(pod, undefined, old && { hash: old.pod.hash, handOver: () => this.handOver(key) });
  }

  /** Stops the held old version of pod `key` (if any); resolves when every stop of that pod settled. */
  private handOver(key: string): Promise<void> {
    const old = this.held.get(key);
    if (old) {
      this.held.delete(key);
      this.stopWorker(key, old);
    }
    const orphan = this.orphans.get(key);
    if (orphan) {
      this.orphans.delete(key);
      this.logger.info('stopping containers of the old version', { pod: key });
      this.trackStop(
        key,
        Promise.all(orphan.refs.map((r) => this.stopManaged(r, orphan.grace))).then(() =>
          orphan.checkpoint ? this.dropSandbox(orphan.checkpoint) : undefined,
        ),
      );
    }
    return this.stopping.get(key) ?? Promise.resolve();
  }

  private startPod(pod: StaticPod, adopted?: Adopted, replacing?: Replacing): void {
    if (this.workers.has(pod.uid)) return; // already running this exact version (e.g. adopted)
    const worker = new PodWorker(
      pod,
      {
        runtime: this.options.runtime,
        host: this.options.host,
        clock: this.clock,
        logger: this.logger,
        nodeIP: this.nodeIP,
        checkpoints: this.checkpoints,
        backoff: this.options.backoff,
        probeRunner: this.options.probeRunner,
        changed: () => this.emit(worker),
      },
      adopted,
    );
    worker.sourceErrors = this.errorsFor(pod);
    this.workers.set(pod.uid, worker);
    this.logger.info(adopted ? 'adopting pod' : 'starting pod', { pod: pod.name, namespace: pod.namespace, uid: pod.uid });
    worker.start(this.stopping.get(podKey(pod)), replacing);
  }

  private stopPod(pod: StaticPod): void {
    const worker = this.workers.get(pod.uid);
    if (!worker) return;
    this.workers.delete(pod.uid);
    this.stopWorker(podKey(pod), worker);
  }

  private stopWorker(key: string, worker: PodWorker): void {
    const { pod } = worker;
    this.logger.info('stopping pod', { pod: pod.name, namespace: pod.namespace, uid: pod.uid });
    this.retiring.set(pod.uid, worker);
    this.trackStop(
      key,
      worker.stop().then(() => {
        if (this.retiring.get(pod.uid) === worker) this.retiring.delete(pod.uid);
        this.retire(worker);
      }),
    );
  }

  private trackStop(key: string, stop: Promise<void>): void {
    const all = Promise.all([this.stopping.get(key), stop]).then(() => undefined);
    this.stopping.set(key, all);
    void all.then(() => {
      if (this.stopping.get(key) === all) this.stopping.delete(key);
    });
  }

  private retire(worker: PodWorker): void {
    const m = worker;
    this.restartsOfGone += m.restartsSinceStart;
    this.probeFailuresOfGone += m.probeFailures;
    this.startFailuresOfGone += m.startFailures;
  }

  private emit(worker: PodWorker): void {
    if (worker.syncLatencyMs !== undefined && !this.recorded.has(worker)) {
      this.recorded.add(worker);
      this.latencies.push(worker.syncLatencyMs);
      if (this.latencies.length > LATENCY_SAMPLES) this.latencies.shift();
    }
    if (this.listeners.size === 0) return;
    const state = worker.state();
    for (const cb of this.listeners) {
      try {
        cb(state);
      } catch (err) {
        this.logger.error('pod state listener failed', { error: messageOf(err) });
      }
    }
  }

  private readonly recorded = new WeakSet<PodWorker>();

  /**
   * After an agent restart, before any event: containers of desired pods (same uid = same hash)
   * that still run are adopted, never started twice; everything else this agent started is stopped,
   * completely, before the desired pods start. Then a worker runs for every desired pod.
   */
  async adopt(desired: StaticPod[]): Promise<void> {
    const managed = await this.options.runtime.listManaged();
    const checkpoints = new Map((await this.checkpoints.list()).map((c) => [c.uid, c]));
    const wanted = new Map(desired.map((p) => [p.uid, p]));
    const stops: Promise<void>[] = [];
    /** Containers of pods that are gone or changed: stopped in waves, dependants first (start-order.ts). */
    const gone: { m: ManagedContainer; grace: number; order: OrderInfo }[] = [];
    const keep = new Map<string, Map<string, ContainerRef>>();
    const byPod = new Map<string, ManagedContainer[]>();
    for (const m of managed) byPod.set(m.podUid, [...(byPod.get(m.podUid) ?? []), m]);
    for (const [uid, list] of byPod) {
      if (this.workers.has(uid) || [...this.held.values()].some((w) => w.uid === uid)) continue; // already managed by a live worker
      const pod = wanted.get(uid);
      const cp = checkpoints.get(uid);
      const first = list[0]!;
      const [name, namespace] = [cp?.name ?? first.podName, cp?.namespace ?? first.namespace];
      const successor = pod ? undefined : desired.find((p) => p.name === name && p.namespace === namespace);
      // only when the new version runs nothing yet (else the old containers are leftovers: stopped)
      if (successor && !byPod.has(successor.uid) && !this.orphans.has(podKey(successor))) {
        // an edited manifest: the new version takes over once its images are present (image-stage.ts)
        this.logger.info('keeping containers of a changed pod until its new version can start', { pod: name, uid });
        this.orphans.set(podKey(successor), { refs: list.map((m) => m.ref), grace: cp?.graceSeconds ?? 30, checkpoint: cp });
        continue;
      }
      if (!pod || (cp && cp.hash !== pod.hash)) {
        const grace = cp?.graceSeconds ?? 30;
        this.logger.info('stopping containers of a pod that is gone or changed', { pod: list[0]!.podName, uid });
        for (const m of list) gone.push({ m, grace, order: cp?.order ?? { startAfter: [], ports: [] } });
        continue;
      }
      const chosen = new Map<string, ContainerRef>();
      for (const name of new Set(list.map((m) => m.ref.name))) {
        const same = list.filter((m) => m.ref.name === name);
        const fromCp = cp?.containers.find((c) => c.name === name)?.ref?.id;
        // the checkpoint's ref wins; otherwise the newest attempt; any other copy is a duplicate
        const pick = same.find((m) => m.ref.id === fromCp) ?? same.reduce((a, b) => (b.ref.attempt > a.ref.attempt ? b : a));
        chosen.set(name, pick.ref);
        for (const m of same) if (m !== pick) stops.push(this.stopManaged(m.ref, pod.pod.spec?.terminationGracePeriodSeconds ?? 30));
      }
      keep.set(uid, chosen);
    }
    await Promise.all(stops);
    for (const wave of stopWaves(gone, (g) => g.order)) await Promise.all(wave.map((g) => this.stopManaged(g.m.ref, g.grace)));
    for (const cp of checkpoints.values()) {
      const orphaned = [...this.orphans.values()].some((o) => o.checkpoint === cp);
      if (!wanted.has(cp.uid) && !this.workers.has(cp.uid) && !orphaned) await this.dropSandbox(cp);
    }
    for (const pod of desired) {
      const running = keep.get(pod.uid);
      const cp = checkpoints.get(pod.uid);
      const sameVersion = cp?.hash === pod.hash;
      const orphan = this.orphans.get(podKey(pod));
      this.startPod(
        pod,
        running && running.size > 0
          ? { sandboxId: cp?.sandboxId ?? byPod.get(pod.uid)![0]!.sandboxId, running, checkpoint: sameVersion ? cp : undefined }
          : undefined,
        orphan && { hash: orphan.checkpoint?.hash ?? 'unknown', handOver: () => this.handOver(podKey(pod)) },
      );
    }
  }

  private async stopManaged(ref: ContainerRef, grace: number): Promise<void> {
    try {
      await this.options.runtime.stopContainer(ref, grace);
      await this.options.runtime.removeContainer(ref);
    } catch (err) {
      this.logger.error('cannot stop container', { container: ref.name, error: messageOf(err) });
    }
  }

  private async dropSandbox(cp: PodCheckpoint): Promise<void> {
    if (cp.sandboxId) {
      const rp = { uid: cp.uid, name: cp.name, namespace: cp.namespace, pod: { metadata: { name: cp.name, namespace: cp.namespace, uid: cp.uid } } };
      const sb = { id: cp.sandboxId };
      await this.options.runtime.stopPodSandbox(rp, sb).catch(() => undefined);
      await this.options.runtime.removePodSandbox(rp, sb).catch(() => undefined);
    }
    await this.checkpoints.remove(cp.uid);
  }

  /** Source errors to surface in the PodState of the pods they kept running. */
  setSourceErrors(errors: SourceError[]): void {
    this.sourceErrors = errors;
    for (const w of this.workers.values()) {
      const next = this.errorsFor(w.pod);
      if (next.join('\n') !== w.sourceErrors.join('\n')) {
        w.sourceErrors = next;
        this.emit(w);
      }
    }
  }

  private errorsFor(pod: StaticPod): string[] {
    return (
      this.sourceErrors
        .filter((e) => e.origin === pod.origin || (e.keptPod?.name === pod.name && e.keptPod.namespace === pod.namespace))
        // file errors already name their file (ManifestError); do not say it twice
        .map((e) => (e.message.startsWith(e.origin) ? e.message : `${e.origin}: ${e.message}`))
    );
  }

  states(): PodState[] {
    return [...this.workers.values()].map((w) => w.state());
  }

  /** Pods whose containers are being stopped (not in states(): no mirror pod is kept for them). */
  stoppingStates(): PodState[] {
    return [...this.retiring.values()].filter((w) => !this.workers.has(w.pod.uid)).map((w) => w.state());
  }

  /** Restarts the running containers of pod `uid` (see PodWorker.restart); undefined when no such pod. */
  restart(uid: string, reason: string): Promise<number> | undefined {
    return this.workers.get(uid)?.restart(reason);
  }

  /** Whether pod `uid` runs with every container ready; undefined when no such pod. */
  ready(uid: string): boolean | undefined {
    return this.workers.get(uid)?.ready();
  }

  /** Called after every status change of a pod; returns an unsubscribe function. */
  onChange(cb: (state: PodState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Stops every pod (for --stop-pods-on-exit and reset) and waits until they are gone. */
  async stopAll(): Promise<void> {
    for (const wave of stopWaves([...this.workers.values(), ...this.held.values()], (w) => orderInfo(w.pod.pod))) {
      for (const w of wave) {
        if (this.workers.get(w.uid) === w) this.stopPod(w.pod);
        else void this.handOver(podKey(w.pod));
      }
      await Promise.all([...this.stopping.values()]);
    }
    for (const key of [...this.orphans.keys()]) void this.handOver(key);
    await Promise.all([...this.stopping.values()]);
  }

  /**
   * Forgets every pod without stopping anything, as a kill -9 of the agent would (tests and benches
   * simulate an agent crash in-process with it; a new PodWorkers then adopts).
   */
  detachAll(): void {
    for (const w of [...this.workers.values(), ...this.held.values()]) w.detach();
    this.workers.clear();
    this.held.clear();
    this.orphans.clear();
  }

  /** Resolves when no stop is in progress (tests, bench). */
  async settled(): Promise<void> {
    while (this.stopping.size > 0) await Promise.all([...this.stopping.values()]);
    await Promise.all([...this.workers.values()].map((w) => w.persisted()));
  }

  metrics(): WorkerMetrics {
    const ws = [...this.workers.values(), ...this.held.values()];
    return {
      pods: this.workers.size,
      runningContainers: ws.reduce((n, w) => n + w.runningCount(), 0),
      restartsTotal: this.restartsOfGone + ws.reduce((n, w) => n + w.restartsSinceStart, 0),
      syncLatencyMs: [...this.latencies],
      probeFailuresTotal: this.probeFailuresOfGone + ws.reduce((n, w) => n + w.probeFailures, 0),
      startFailuresTotal: this.startFailuresOfGone + ws.reduce((n, w) => n + w.startFailures, 0),
    };
  }
}
