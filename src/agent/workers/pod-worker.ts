/**
 * One static pod's life (the kubelet's podSyncer): sandbox, init containers in order, app containers each under a supervisor
 * (restart policy + CrashLoopBackOff), probes, and the final stop (SIGTERM, grace, SIGKILL). Every
 * wait is abortable, so a remove or update stops the pod within milliseconds of the event.
 */
import type { V1Container } from '@kubernetes/client-node';
import { messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { containerLogPath } from '../logs/cri-log.js';
import type { StaticPod, PodState } from '../pod-types.js';
import { ContainerProbes, type ProbeRunner } from '../probes/prober.js';
import type { ContainerRef, ContainerRunState, Runtime, RuntimePod, SandboxRef } from '../runtime/types.js';
import type { CheckpointStore, PodCheckpoint } from '../state/checkpoint.js';
import { CrashBackoff, type BackoffPolicy } from './backoff.js';
import { containerViews, newRecord, probeErrors, restartCountsFromLogs, termination, type Rec } from './container-record.js';
import { containerField, prefetchImages, stageImages, waitingReason, type Replacing } from './image-stage.js';
import { removeContainers } from './pod-stop.js';
import { CheckpointWriter } from './pod-checkpoint.js';
import { waitStartAfter } from './start-gate.js';
import { AbortError, sleep, type Clock } from './clock.js';
import { Conditions, podStatus, type Terminated } from './status.js';
import type { WorkerLogger } from './logger.js';

export interface WorkerDeps {
  runtime: Runtime;
  host: Host;
  clock: Clock;
  logger: WorkerLogger;
  nodeIP: string;
  checkpoints: CheckpointStore;
  backoff?: BackoffPolicy;
  probeRunner?: ProbeRunner;
  /** Called after every visible change. */
  changed(): void;
}

/** What adoption found still running for this pod. */
export interface Adopted {
  sandboxId: string;
  running: Map<string, ContainerRef>;
  checkpoint?: PodCheckpoint;
}

export class PodWorker {
  private readonly abort = new AbortController();
  private readonly recs: Rec[];
  private sandbox?: SandboxRef;
  private initialized = false;
  private readonly startTime: Date;
  private readonly conditions = new Conditions();
  private loop?: Promise<void>;
  private stopPromise?: Promise<void>;
  private readonly errors = new Map<string, string>();
  sourceErrors: string[] = [];
  /** Event received → all app containers running, the first time (ms). */
  syncLatencyMs?: number;
  restartsSinceStart = 0;
  probeFailures = 0;
  startFailures = 0;
  private finalMessage?: string;
  private readonly checkpoint: CheckpointWriter;
  /** Image checks begun with the sandbox's creation, each taken by its container's first start. */
  private prefetched = new Map<Rec, Promise<void>>();

  constructor(
    readonly pod: StaticPod,
    private readonly deps: WorkerDeps,
    private readonly adopted?: Adopted,
  ) {
    this.startTime = new Date(deps.clock.now());
    this.checkpoint = new CheckpointWriter(pod, deps);
    const spec = pod.pod.spec;
    const mk = (c: V1Container, init: boolean): Rec => newRecord(c, init, adopted, deps.backoff);
    this.recs = [...(spec?.initContainers ?? []).map((c) => mk(c, true)), ...(spec?.containers ?? []).map((c) => mk(c, false))];
  }

  get uid(): string {
    return this.pod.uid;
  }

  private get runtimePod(): RuntimePod {
    return { uid: this.pod.uid, name: this.pod.name, namespace: this.pod.namespace, pod: this.pod.pod };
  }

  private get graceSeconds(): number {
    return this.pod.pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private get restartPolicy(): string {
    return this.pod.pod.spec?.restartPolicy ?? 'Always';
  }

  /** Starts the pod once `after` (the stop of a previous version) has settled, or once it took over from `replacing`. */
  start(after: Promise<unknown> = Promise.resolve(), replacing?: Replacing): void {
    const eventAt = this.deps.clock.now();
    this.loop = after
      .then(() => this.run(eventAt, replacing))
      .catch((err: unknown) => {
        if (err instanceof AbortError || this.signal.aborted) return;
        this.deps.logger.error('pod worker failed', { pod: this.pod.name, error: messageOf(err) });
      });
  }

  private get signal(): AbortSignal {
    return this.abort.signal;
  }

  private check(): void {
    if (this.signal.aborted) throw new AbortError();
  }

  private async run(eventAt: number, replacing: Replacing | undefined): Promise<void> {
    this.check();
    if (replacing) {
      await stageImages(this.recs, this.deps.runtime, (what, fn, onError) => this.retry(what, fn, onError), replacing);
      this.deps.changed();
      await replacing.handOver();
      this.check();
    }
    if (!this.adopted) await waitStartAfter(this.pod, this.recs, this.deps, this.signal);
    if (!this.adopted) restartCountsFromLogs(this.deps.host, this.pod, this.recs);
    // a fresh pod checks its images while the sandbox is created (an adopted one has its sandbox)
    if (!this.adopted) this.prefetched = prefetchImages(this.recs, this.deps.runtime);
    this.sandbox = await this.retry('sandbox', async () => (this.adopted ? { id: this.adopted.sandboxId } : this.deps.runtime.runPodSandbox(this.runtimePod)));
    this.saveCheckpoint();
    const inits = this.recs.filter((r) => r.init);
    const apps = this.recs.filter((r) => !r.init);
    // adopted app containers mean the init phase was done before the agent restarted
    const initDone = this.adopted !== undefined && apps.some((r) => this.adopted!.running.has(r.spec.name));
    if (!initDone) {
      for (const rec of inits) {
        if (rec.completed) continue;
        const ok = await this.supervise(rec);
        if (!ok) {
          this.finalMessage = `init container ${rec.spec.name} failed`;
          this.deps.changed();
          return;
        }
      }
    } else {
      for (const rec of inits) {
        rec.completed = true;
        rec.view = { terminated: { exitCode: 0, reason: 'Completed', finishedAt: this.startTime } };
      }
    }
    this.initialized = true;
    this.deps.changed();
    const supervisors = apps.map((rec) => this.supervise(rec));
    void Promise.all(apps.map((rec) => this.untilRunning(rec))).then(() => {
      if (this.syncLatencyMs !== undefined) return;
      this.syncLatencyMs = this.deps.clock.now() - eventAt;
      this.deps.changed();
    });
    await Promise.all(supervisors);
  }

  private readonly runningWaiters = new Map<Rec, Array<() => void>>();

  private untilRunning(rec: Rec): Promise<void> {
    if ('running' in rec.view) return Promise.resolve();
    return new Promise((resolve) => this.runningWaiters.set(rec, [...(this.runningWaiters.get(rec) ?? []), resolve]));
  }

  /** Retries a runtime call with the crash backoff (an image or sandbox problem); errors are surfaced. */
  private async retry<T>(what: string, fn: () => Promise<T>, onError?: (err: unknown) => void): Promise<T> {
    const backoff = new CrashBackoff(this.deps.backoff);
    for (;;) {
      this.check();
      try {
        const v = await fn();
        this.errors.delete(what);
        return v;
      } catch (err) {
        this.check();
        this.startFailures++;
        this.errors.set(what, `${what}: ${messageOf(err)}`);
        onError?.(err);
        this.deps.logger.warn(`cannot create ${what}`, { pod: this.pod.name, error: messageOf(err) });
        this.deps.changed();
        const now = this.deps.clock.now();
        backoff.restarted(now);
        await sleep(this.deps.clock, Math.max(backoff.delay(now, now), this.deps.backoff?.initialMs ?? 10_000), this.signal);
      }
    }
  }

  /**
   * Runs one container until the restart policy says it is done. Init containers: true once one
   * attempt exits 0. App containers: resolves when no more restarts will happen.
   */
  private async supervise(rec: Rec): Promise<boolean> {
    const adoptedRef = this.adopted?.running.get(rec.spec.name);
    if (adoptedRef) {
      rec.ref = adoptedRef;
      const st = await this.deps.runtime.status(adoptedRef);
      rec.startedAtMs = st.state === 'running' ? st.startedAt.getTime() : this.deps.clock.now();
      this.markRunning(rec, new Date(rec.startedAtMs));
    }
    for (;;) {
      this.check();
      if (!rec.ref) await this.startOne(rec);
      const ref = rec.ref!;
      const exit = await this.deps.runtime.waitExit(ref, this.signal);
      this.check();
      if (rec.probes) {
        rec.lastProbeFailures = [...rec.probes.failures.values()];
        rec.probes.stop();
      }
      rec.probes = undefined;
      const term = this.termination(rec, ref, exit);
      rec.view = { terminated: term };
      this.deps.changed();
      const failed = term.exitCode !== 0;
      if (rec.init && !failed) {
        rec.completed = true;
        this.saveCheckpoint();
        return true;
      }
      const policy = this.restartPolicy;
      const restart = policy === 'Always' ? !rec.init || failed : policy === 'OnFailure' ? failed : false;
      if (!restart) return !failed;
      // exit detection is immediate, so "now" is the finish time on the workers' own clock
      const now = this.deps.clock.now();
      const requested = rec.restartRequested === true;
      rec.restartRequested = undefined;
      const delay = requested ? 0 : rec.backoff.delay(now, now);
      if (delay > 0) {
        rec.last = term;
        rec.view = {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${rec.spec.name} pod=${this.pod.name}_${this.pod.namespace}(${this.pod.uid})`,
          },
        };
        this.deps.changed();
        await sleep(this.deps.clock, delay, this.signal);
      }
      rec.backoff.restarted(this.deps.clock.now());
      rec.last = term;
      if (rec.deadRef) await this.deps.runtime.removeContainer(rec.deadRef).catch(() => undefined);
      rec.deadRef = ref;
      rec.ref = undefined;
      rec.restartCount++;
      this.restartsSinceStart++;
    }
  }

  private termination(rec: Rec, ref: ContainerRef, exit: ContainerRunState): Terminated {
    return termination(rec, `${this.deps.runtime.name}://${ref.id}`, exit, this.deps.clock.now());
  }

  private async startOne(rec: Rec): Promise<void> {
    const c = rec.spec;
    const ref = await this.retry(
      `container ${c.name}`,
      async () => {
        // the first attempt takes the check begun with the sandbox; a retry asks again
        const prefetched = this.prefetched.get(rec);
        this.prefetched.delete(rec);
        await (prefetched ?? this.deps.runtime.ensureImage(c, containerField(rec)));
        this.check();
        return this.deps.runtime.startContainer(this.runtimePod, this.sandbox!, {
          container: c,
          attempt: rec.restartCount,
          logPath: this.hostLogPath(c.name, rec.restartCount),
          init: rec.init,
        });
      },
      (err) => {
        // as the kubelet: the container waits with the reason it cannot start (kubestrap ps, /pods, mirror pod)
        rec.view = { waiting: { reason: waitingReason(err), message: messageOf(err) } };
      },
    );
    rec.ref = ref;
    rec.startedAtMs = this.deps.clock.now();
    this.markRunning(rec, new Date(rec.startedAtMs));
    this.saveCheckpoint();
  }

  private hostLogPath(container: string, attempt: number): string {
    return this.deps.host.path(containerLogPath(this.pod.namespace, this.pod.name, this.pod.uid, container, attempt));
  }

  private markRunning(rec: Rec, startedAt: Date): void {
    rec.view = { running: { startedAt } };
    if (!rec.init) {
      const ref = rec.ref!;
      const probes = new ContainerProbes(
        rec.spec,
        { container: rec.spec, host: '127.0.0.1', exec: (cmd, timeoutMs) => this.deps.runtime.exec(ref, cmd, timeoutMs) },
        startedAt.getTime(),
        this.deps.clock,
        {
          onChange: () => {
            this.deps.changed();
          },
          onKill: (kind, message) => void this.killUnhealthy(rec, ref, kind, message),
        },
        this.deps.probeRunner,
      );
      rec.probes = probes;
      probes.start();
    }
    for (const w of this.runningWaiters.get(rec) ?? []) w();
    this.runningWaiters.delete(rec);
    this.deps.changed();
  }

  /**
   * Restarts every running app container (e.g. after a file it mounts was renewed): each is stopped
   * with the pod's grace period and started again at once, one more restart in its count (so
   * `kubectl logs --previous` shows the old one). Resolves with how many were restarted once every
   * new container runs; containers that are not running (backing off) just start later as usual.
   */
  async restart(reason: string): Promise<number> {
    const live = this.recs.filter((r) => !r.init && r.ref && 'running' in r.view);
    const aborted = new Promise<void>((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.all(
      live.map(async (rec) => {
        const old = rec.ref!;
        const running = new Promise<void>((resolve) => this.runningWaiters.set(rec, [...(this.runningWaiters.get(rec) ?? []), resolve]));
        rec.restartRequested = true;
        rec.killedFor = `Container ${rec.spec.name} restarted by the kubestrap agent: ${reason}`;
        this.deps.logger.info('restarting container', { pod: this.pod.name, container: rec.spec.name, reason });
        await this.deps.runtime.stopContainer(old, this.graceSeconds);
        await Promise.race([running, aborted]);
      }),
    );
    return live.length;
  }

  /** True when every app container runs and is ready (the pod's Ready condition). */
  ready(): boolean {
    return this.recs.every((r) => r.init || ('running' in r.view && (r.probes?.ready ?? false)));
  }

  /** A liveness or startup probe failed for good: kill the container; its supervisor restarts it. */
  private async killUnhealthy(rec: Rec, ref: ContainerRef, kind: string, message: string): Promise<void> {
    if (rec.ref !== ref || this.signal.aborted) return;
    this.probeFailures++;
    rec.killedFor = `Container ${rec.spec.name} failed ${kind} probe, will be restarted: ${message}`;
    this.deps.logger.warn('killing unhealthy container', { pod: this.pod.name, container: rec.spec.name, reason: message });
    const probe = kind === 'liveness' ? rec.spec.livenessProbe : rec.spec.startupProbe;
    const grace = probe?.terminationGracePeriodSeconds ?? this.graceSeconds;
    await this.deps.runtime
      .stopContainer(ref, grace)
      .catch((err: unknown) => this.deps.logger.error('cannot stop unhealthy container', { pod: this.pod.name, error: messageOf(err) }));
  }

  private saveCheckpoint(): void {
    if (!this.signal.aborted) this.checkpoint.save(this.sandbox?.id, this.recs);
  }

  /** Resolves when queued checkpoint writes are on disk. */
  persisted(): Promise<void> {
    return this.checkpoint.persisted();
  }

  /** Stops supervising without touching the containers (what a crashed agent leaves behind). */
  detach(): void {
    this.abort.abort();
    for (const r of this.recs) r.probes?.stop();
  }

  /** Stops the pod completely: every container gone, sandbox removed, checkpoint dropped. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    for (const r of this.recs) r.probes?.stop();
    await removeContainers(this.recs, this.sandbox, {
      runtime: this.deps.runtime,
      pod: this.runtimePod,
      graceSeconds: this.graceSeconds,
      onError: (r, err) => this.deps.logger.error('cannot stop container', { pod: this.pod.name, container: r.spec.name, error: messageOf(err) }),
      terminated: (r, ref, st) => this.termination(r, ref, st),
    });
    await this.checkpoint.remove();
    this.finalMessage = 'stopped';
    this.deps.changed();
  }

  /** Containers running now. */
  runningCount(): number {
    return this.recs.filter((r) => 'running' in r.view).length;
  }

  state(): PodState {
    const views = containerViews(this.recs, this.deps.runtime.name);
    const errors = [...this.sourceErrors, ...this.errors.values(), ...probeErrors(this.recs)];
    return {
      pod: this.pod,
      status: podStatus({
        init: views.filter((v) => v.init),
        app: views.filter((v) => !v.init),
        initialized: this.initialized,
        restartPolicy: this.restartPolicy,
        startTime: this.startTime,
        nodeIP: this.deps.nodeIP,
        conditions: this.conditions,
        now: new Date(this.deps.clock.now()),
        message: this.finalMessage,
      }),
      restarts: this.recs.reduce((n, r) => n + r.restartCount, 0),
      errors,
    };
  }
}
