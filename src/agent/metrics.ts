/** The agent's /metrics: Prometheus text exposition of its pods, containers, sources and latencies. */
import { EXPIRY_METRIC, type CertExpiry } from './cert-expiry.js';
import type { PodState, SourceError, StaticPod } from './pod-types.js';
import type { WorkerMetrics } from './workers/index.js';

/** A cumulative histogram in seconds (Prometheus conventions). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly buckets: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    this.buckets.forEach((b, i) => {
      if (seconds <= b) this.counts[i]!++;
    });
  }

  render(name: string, help: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sum}`, `${name}_count ${this.count}`);
    return lines;
  }
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function labels(map: Record<string, string>): string {
  const parts = Object.entries(map).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One metric family: HELP, TYPE and its samples. */
export function family(
  name: string,
  type: 'gauge' | 'counter' | 'summary',
  help: string,
  samples: { labels?: Record<string, string>; value: number }[],
): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map((s) => `${name}${labels(s.labels ?? {})} ${s.value}`)];
}

/** The q-quantile of samples (nearest rank); NaN when there are none, as Prometheus summaries do. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface AgentMetricsInput {
  states: readonly PodState[];
  desired: readonly StaticPod[];
  errors: readonly SourceError[];
  workers: WorkerMetrics;
  /** Source change observed → pod workers applied the event. */
  syncLatency: Histogram;
  sourceErrorsTotal: number;
  /** The node's certificates and when they expire (CertExpiryScanner). */
  certificates: readonly CertExpiry[];
}

export function renderAgentMetrics(m: AgentMetricsInput): string {
  const { states, desired } = m;
  const phases = new Map<string, number>();
  const stateUids = new Set(states.map((s) => s.pod.uid));
  for (const s of states) phases.set(s.status.phase ?? 'Unknown', (phases.get(s.status.phase ?? 'Unknown') ?? 0) + 1);
  const pending = desired.filter((p) => !stateUids.has(p.uid)).length;
  if (pending > 0) phases.set('Pending', (phases.get('Pending') ?? 0) + pending);
  const restarts: { labels: Record<string, string>; value: number }[] = [];
  for (const s of states) {
    for (const cs of [...(s.status.initContainerStatuses ?? []), ...(s.status.containerStatuses ?? [])]) {
      restarts.push({ labels: { namespace: s.pod.namespace, pod: s.pod.name, container: cs.name }, value: cs.restartCount });
    }
  }
  const errorsBySource = new Map<string, number>([
    ['file', 0],
    ['http', 0],
  ]);
  for (const e of m.errors) errorsBySource.set(e.source, (errorsBySource.get(e.source) ?? 0) + 1);
  const w = m.workers;
  const startLatency = w.syncLatencyMs.map((ms) => ms / 1000);
  const lines = [
    ...family('kubestrap_agent_desired_pods', 'gauge', 'Static pods the sources declare.', [{ value: desired.length }]),
    ...family(
      'kubestrap_agent_pods',
      'gauge',
      'Pods by phase (desired pods without a worker yet count as Pending).',
      [...phases].map(([phase, value]) => ({ labels: { phase }, value })),
    ),
    ...family('kubestrap_agent_running_containers', 'gauge', 'Containers running.', [{ value: w.runningContainers }]),
    ...family('kubestrap_agent_container_restarts', 'gauge', 'Restart count per container.', restarts),
    ...family('kubestrap_agent_container_restarts_total', 'counter', 'Container restarts since the agent started.', [{ value: w.restartsTotal }]),
    ...family('kubestrap_agent_probe_failures_total', 'counter', 'Probe failures.', [{ value: w.probeFailuresTotal }]),
    ...family('kubestrap_agent_start_failures_total', 'counter', 'Container start failures.', [{ value: w.startFailuresTotal }]),
    ...m.syncLatency.render('kubestrap_agent_sync_latency_seconds', 'Source change observed → pod workers applied the event.'),
    ...family('kubestrap_agent_pod_start_latency_seconds', 'summary', 'Event received → all containers of the pod running (recent samples).', [
      ...[0.5, 0.9, 0.99].map((q) => ({ labels: { quantile: String(q) }, value: quantile(startLatency, q) })),
    ]),
    `kubestrap_agent_pod_start_latency_seconds_sum ${startLatency.reduce((a, b) => a + b, 0)}`,
    `kubestrap_agent_pod_start_latency_seconds_count ${startLatency.length}`,
    ...family(
      'kubestrap_agent_source_errors',
      'gauge',
      'Current source errors (broken or refused manifests, failed fetches).',
      [...errorsBySource].map(([source, value]) => ({ labels: { source }, value })),
    ),
    ...family('kubestrap_agent_source_errors_total', 'counter', 'Source errors seen since the agent started.', [{ value: m.sourceErrorsTotal }]),
    ...family(
      EXPIRY_METRIC,
      'gauge',
      'When each certificate of the node expires (NotAfter, Unix time).',
      m.certificates.map((c) => ({ labels: { file: c.file }, value: c.notAfter.getTime() / 1000 })),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
