/**
 * The agent's component manager: wires sources → merger → pod workers → read-only server and owns
 * their order. Start: runtime.init → sources (first snapshots only fill the merger) → workers adopt
 * what still runs from before a restart → the desired pods are applied → server. Stop (SIGTERM):
 * sources and server stop; pods keep running (like the kubelet) unless stopPodsOnExit.
 */
import { AGENT_SOCKET } from '../config/defaults.js';
import { CertExpiryScanner } from './cert-expiry.js';
import { podsUsing, restartInOrder, type RestartReport } from './restart.js';
import type { WorkerMetrics } from './workers/index.js';
import type { AgentConfig } from './config.js';
import { podKey, type PodAdmission } from './identity.js';
import type { Logger } from './log.js';
import { Merger } from './merger.js';
import type { PodEvent, PodState, SourceError, StaticPod } from './pod-types.js';
import type { Runtime } from './runtime/types.js';
import { Histogram, renderAgentMetrics } from './metrics.js';
import { AgentServer, type AgentView } from './server.js';
import { FileSource } from './sources/file.js';
import { HttpSource } from './sources/http.js';
import type { PodSource, SourceSnapshot } from './sources/types.js';

/** What the agent needs from the pod workers (src/agent/workers PodWorkers satisfies it). */
export interface PodManager {
  /** add → start; update → stop the previous pod completely, then start; remove → stop. */
  apply(event: PodEvent): void | Promise<void>;
  /** After an agent restart: adopt running containers of unchanged desired pods, stop the rest. */
  adopt(desired: StaticPod[]): Promise<void>;
  setSourceErrors?(errors: SourceError[]): void;
  states(): PodState[];
  /** Pods still being stopped (listed by /pods until their containers are gone). */
  stoppingStates?(): PodState[];
  stopAll(): Promise<void>;
  metrics(): WorkerMetrics;
  /** Restarts a pod's running containers (src/agent/restart.ts); how many. */
  restart?(uid: string, reason: string): Promise<number> | undefined;
  ready?(uid: string): boolean | undefined;
}

/** The agent's API side (src/agent/mirror MirrorSync satisfies it). */
export interface ApiSync {
  /** Starts in the background; never throws. */
  start(): void;
  stop(): Promise<void>;
}

export interface AgentParts {
  config: AgentConfig;
  runtime: Runtime;
  workers: PodManager;
  logger: Logger;
  /** Default: built from the config (file source for staticPodPath, http source for staticPodURL). */
  sources?: PodSource[];
  /**
   * Builds the API side once the workers have adopted (so the desired pods are known, e.g. for the
   * control-plane version); the agent starts it then and stops it first on shutdown.
   */
  apiSync?: (agent: Agent) => ApiSync | Promise<ApiSync>;
  /** Starts the kubelet API (src/agent/kubelet-server) once the workers have adopted; closed on stop. */
  kubeletApi?: (agent: Agent) => Promise<{ close(): Promise<void> } | undefined>;
}

/** The sources the configuration asks for. */
export function configuredSources(config: AgentConfig, logger: Logger, admit?: PodAdmission): PodSource[] {
  const sources: PodSource[] = [];
  if (config.staticPodPath !== undefined) {
    sources.push(
      new FileSource({ path: config.host.path(config.staticPodPath), nodeName: config.nodeName, checkFrequencyMs: config.fileCheckFrequencyMs, logger, admit }),
    );
  }
  if (config.staticPodURL !== undefined) {
    sources.push(
      new HttpSource({
        url: config.staticPodURL,
        headers: config.staticPodURLHeader,
        nodeName: config.nodeName,
        checkFrequencyMs: config.httpCheckFrequencyMs,
        logger,
        admit,
      }),
    );
  }
  return sources;
}

export class Agent implements AgentView {
  readonly merger = new Merger();
  private readonly sources: PodSource[];
  private readonly log: Logger;
  private server: AgentServer | undefined;
  /** Until adoption is done, snapshots only update the merger. */
  private ready = false;
  /** Events are applied strictly in order, even when apply() is async. */
  private queue: Promise<void> = Promise.resolve();
  private readonly syncLatency = new Histogram();
  private sourceErrorsTotal = 0;
  private knownErrors = new Set<string>();
  private started = false;
  /** Sources that delivered their first snapshot. */
  private readonly delivered = new Set<string>();
  private apiSync: ApiSync | undefined;
  private kubeletApi: { close(): Promise<void> } | undefined;
  /** The read-only server's port once listening (tests pass port 0). */
  port: number | undefined;
  private readonly certs: CertExpiryScanner;
  /** Restarts run one request at a time (two `certs renew` at once must not interleave). */
  private restarts: Promise<unknown> = Promise.resolve();

  constructor(private readonly parts: AgentParts) {
    this.log = parts.logger.child({ component: 'agent' });
    const runtime = parts.runtime;
    this.sources = parts.sources ?? configuredSources(parts.config, parts.logger, runtime.refuses ? (pod) => runtime.refuses!(pod) : undefined);
    this.certs = new CertExpiryScanner(parts.config.host);
  }

  async start(): Promise<void> {
    const { config, runtime, workers } = this.parts;
    this.started = true;
    this.log.info('starting', {
      node: config.nodeName,
      runtime: runtime.name,
      rootfs: config.host.rootfs,
      staticPodPath: config.staticPodPath,
      staticPodURL: config.staticPodURL,
    });
    await runtime.init();
    for (const warning of runtime.warnings?.() ?? []) this.log.warn(warning, { runtime: runtime.name });
    for (const source of this.sources) await source.start((s) => this.onSnapshot(s));
    if (!this.started) return;
    const desired = this.merger.pods();
    await workers.adopt(desired);
    if (!this.started) return;
    this.ready = true;
    this.enqueue(catchUpEvents(desired, this.merger.pods()), Date.now());
    workers.setSourceErrors?.(this.merger.errors());
    if (this.parts.apiSync) {
      this.apiSync = await this.parts.apiSync(this);
      if (!this.started) return;
      this.apiSync.start();
    }
    this.server = new AgentServer(this, this.parts.logger);
    const socket = config.host.path(config.socketPath ?? AGENT_SOCKET);
    await this.server.listenSocket(socket);
    this.log.info('local API listening', { socket });
    // the pods matter more than their logs: a kubelet API that cannot start is an error in the log only
    this.kubeletApi = await this.parts.kubeletApi?.(this).catch((err: unknown) => {
      this.log.error('the kubelet API did not start', { error: (err as Error).message });
      return undefined;
    });
    if (config.readOnlyPort !== 0) {
      this.port = await this.server.listen(config.readOnlyPort);
      this.log.info('read-only server listening', { address: `127.0.0.1:${this.port}` });
    }
    this.log.info('started', { pods: desired.length, errors: this.merger.errors().length });
  }

  /** Test hook: start with the read-only server on an ephemeral port. */
  async listenOn(port: number): Promise<number> {
    this.server ??= new AgentServer(this, this.parts.logger);
    this.port = await this.server.listen(port);
    return this.port;
  }

  /** Stops sources and server; pods keep running unless `stopPods` (default: config.stopPodsOnExit). */
  async stop(stopPods = this.parts.config.stopPodsOnExit): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.ready = false;
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.apiSync?.stop();
    await this.kubeletApi?.close();
    await this.server?.close();
    await this.queue;
    if (stopPods) {
      this.log.info('stopping all pods (--stop-pods-on-exit)');
      await this.parts.workers.stopAll();
    } else {
      this.log.info('leaving pods running');
    }
    await this.parts.runtime.close();
    this.log.info('stopped');
  }

  /**
   * True once every source delivered its first snapshot: until then an absent static pod may just
   * not be read yet, so its mirror pod must not be deleted (the kubelet's "sources ready").
   */
  sourcesReady(): boolean {
    return this.sources.every((s) => this.delivered.has(s.name));
  }

  private onSnapshot(snapshot: SourceSnapshot): void {
    this.delivered.add(snapshot.source);
    const events = this.merger.update(snapshot);
    const errors = this.merger.errors();
    const keys = new Set(errors.map((e) => `${e.origin}\0${e.message}`));
    for (const k of keys) if (!this.knownErrors.has(k)) this.sourceErrorsTotal++;
    this.knownErrors = keys;
    if (!this.ready) return;
    this.parts.workers.setSourceErrors?.(errors);
    this.enqueue(events, snapshot.observedAt);
  }

  private enqueue(events: PodEvent[], observedAt: number): void {
    if (events.length === 0) return;
    for (const e of events) {
      const name = podKey(e.pod);
      if (e.type === 'update') this.log.info('pod changed', { pod: name, uid: e.pod.uid, previousUid: e.previous.uid, origin: e.pod.origin });
      else this.log.info(e.type === 'add' ? 'pod added' : 'pod removed', { pod: name, uid: e.pod.uid, origin: e.pod.origin });
    }
    this.queue = this.queue.then(async () => {
      for (const event of events) {
        try {
          await this.parts.workers.apply(event);
        } catch (err) {
          this.log.error('pod workers refused an event', { pod: podKey(event.pod), type: event.type, error: (err as Error).message });
        }
      }
      this.syncLatency.observe((Date.now() - observedAt) / 1000);
    });
  }

  // AgentView ------------------------------------------------------------------------------------

  /** Restarts exactly the pods that use any of `files` (host paths), one at a time, each until Ready. */
  restartUsing(files: string[], reason: string): Promise<RestartReport> {
    const { workers } = this.parts;
    const run = async (): Promise<RestartReport> => {
      const running = new Set(this.states().map((s) => s.pod.uid));
      const pods = podsUsing(
        this.desired().filter((p) => running.has(p.uid)),
        files,
      );
      this.log.info('restarting the pods that use changed files', { reason, files: files.join(','), pods: pods.map((p) => p.name).join(',') });
      if (!workers.restart || !workers.ready)
        return { kind: 'RestartReport', restarted: [], notRestarted: pods.map((p) => ({ namespace: p.namespace, name: p.name })) };
      const report = await restartInOrder(pods, files, { restart: (uid, r) => workers.restart!(uid, r), ready: (uid) => workers.ready!(uid) }, { reason });
      for (const p of report.restarted) this.log.info('pod restarted', { pod: `${p.namespace}/${p.name}`, containers: p.containers, ready: p.ready, ms: p.ms });
      return report;
    };
    const next = this.restarts.then(run, run);
    this.restarts = next.catch(() => undefined);
    return next;
  }

  desired(): StaticPod[] {
    return this.merger.pods();
  }

  states(): PodState[] {
    return this.parts.workers.states();
  }

  stopping(): PodState[] {
    return this.parts.workers.stoppingStates?.() ?? [];
  }

  errors(): SourceError[] {
    return this.merger.errors();
  }

  metrics(): string {
    return renderAgentMetrics({
      states: this.states(),
      desired: this.desired(),
      errors: this.errors(),
      workers: this.parts.workers.metrics(),
      syncLatency: this.syncLatency,
      sourceErrorsTotal: this.sourceErrorsTotal,
      certificates: this.certs.scan(),
    });
  }
}

/**
 * The events after adoption: every desired pod is applied (`add` of an adopted pod is a no-op for
 * the workers), and whatever changed while adopt() ran becomes update/remove against what it got.
 */
export function catchUpEvents(adopted: StaticPod[], now: StaticPod[]): PodEvent[] {
  const before = new Map(adopted.map((p) => [podKey(p), p]));
  const events: PodEvent[] = [];
  const nowKeys = new Set(now.map(podKey));
  for (const pod of adopted) if (!nowKeys.has(podKey(pod))) events.push({ type: 'remove', pod });
  for (const pod of now) {
    const previous = before.get(podKey(pod));
    events.push(previous && previous.uid !== pod.uid ? { type: 'update', pod, previous } : { type: 'add', pod });
  }
  return events;
}

/**
 * Runs the agent until SIGTERM/SIGINT, then stops it (pods keep running unless stopPodsOnExit).
 * Resolves when it has stopped.
 */
export async function runUntilSignal(agent: Agent, logger: Logger): Promise<void> {
  let stopping: Promise<void> | undefined;
  await new Promise<void>((resolve, reject) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      logger.info('signal received, shutting down', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stopping = agent.stop().then(resolve, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    agent.start().catch((err: unknown) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void agent.stop().finally(() => reject(err instanceof Error ? err : new Error(String(err))));
    });
  });
}
