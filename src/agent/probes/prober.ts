/**
 * The probes of one running container, with the kubelet's state machine: startup gates liveness and
 * readiness; results flip only after failureThreshold/successThreshold consecutive outcomes;
 * initial values readiness=false, liveness=ok, started=false (true at once without a startup probe).
 */
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Clock } from '../workers/clock.js';
import { runProbe, type ProbeOutcome, type ProbeTarget } from './check.js';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';

export interface ProbeEvents {
  /** Startup or liveness failed for good: the container must be killed and restarted. */
  onKill(kind: 'startup' | 'liveness', message: string): void;
  /** started/ready or a recorded failure changed. */
  onChange(): void;
}

/** Runs one attempt; tests replace it to avoid real sockets. */
export type ProbeRunner = (probe: V1Probe, target: ProbeTarget) => Promise<ProbeOutcome>;

interface Loop {
  kind: ProbeKind;
  probe: V1Probe;
  successes: number;
  failures: number;
  timer?: unknown;
}

export class ContainerProbes {
  started: boolean;
  ready = false;
  /** Last failure message per probe kind, cleared by a success. */
  readonly failures = new Map<ProbeKind, string>();
  /** Probe failures seen (attempts), for metrics. */
  failureCount = 0;
  private stopped = false;
  private readonly loops: Loop[] = [];

  constructor(
    private readonly container: V1Container,
    private readonly target: ProbeTarget,
    /** When the container started (ms since epoch): initialDelaySeconds counts from here. */
    private readonly startedAtMs: number,
    private readonly clock: Clock,
    private readonly events: ProbeEvents,
    private readonly runner: ProbeRunner = runProbe,
  ) {
    this.started = !container.startupProbe;
    if (!container.readinessProbe) this.ready = this.started;
  }

  start(): void {
    if (this.container.startupProbe) this.schedule(this.loop('startup', this.container.startupProbe), true);
    else this.startMain();
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.loops) if (l.timer !== undefined) this.clock.clearTimeout(l.timer);
  }

  private loop(kind: ProbeKind, probe: V1Probe): Loop {
    const l: Loop = { kind, probe, successes: 0, failures: 0 };
    this.loops.push(l);
    return l;
  }

  private startMain(): void {
    if (this.container.livenessProbe) this.schedule(this.loop('liveness', this.container.livenessProbe), true);
    if (this.container.readinessProbe) this.schedule(this.loop('readiness', this.container.readinessProbe), true);
  }

  private schedule(l: Loop, first: boolean): void {
    if (this.stopped) return;
    const period = (l.probe.periodSeconds ?? 10) * 1000;
    const delay = first ? Math.max(0, this.startedAtMs + (l.probe.initialDelaySeconds ?? 0) * 1000 - this.clock.now()) : period;
    l.timer = this.clock.setTimeout(() => void this.tick(l), delay);
  }

  private async tick(l: Loop): Promise<void> {
    l.timer = undefined;
    if (this.stopped) return;
    const out = await this.runner(l.probe, this.target);
    if (this.stopped) return;
    if (out.ok) {
      l.successes++;
      l.failures = 0;
      if (this.failures.delete(l.kind)) this.events.onChange();
    } else {
      l.failures++;
      l.successes = 0;
      this.failureCount++;
      const label = `${l.kind[0]!.toUpperCase()}${l.kind.slice(1)} probe failed: ${out.message}`;
      if (this.failures.get(l.kind) !== label) {
        this.failures.set(l.kind, label);
        this.events.onChange();
      }
    }
    const successThreshold = l.kind === 'readiness' ? (l.probe.successThreshold ?? 1) : 1;
    const failureThreshold = l.probe.failureThreshold ?? 3;
    switch (l.kind) {
      case 'startup':
        if (l.successes >= successThreshold) {
          this.started = true;
          if (!this.container.readinessProbe) this.ready = true;
          this.events.onChange();
          this.startMain();
          return; // the startup probe stops after success
        }
        if (l.failures >= failureThreshold) {
          this.stop();
          this.events.onKill('startup', this.failures.get('startup') ?? 'startup probe failed');
          return;
        }
        break;
      case 'liveness':
        if (l.failures >= failureThreshold) {
          this.stop(); // on hold until a new container replaces this one
          this.events.onKill('liveness', this.failures.get('liveness') ?? 'liveness probe failed');
          return;
        }
        break;
      case 'readiness':
        if (!this.ready && l.successes >= successThreshold) {
          this.ready = true;
          this.events.onChange();
        } else if (this.ready && l.failures >= failureThreshold) {
          this.ready = false;
          this.events.onChange();
        }
        break;
    }
    this.schedule(l, false);
  }
}
