/**
 * The upgrade's waits, on the agent and never on the API server (which is down while it restarts):
 * the agent's local API says which manifest hash a static pod runs and whether its containers are
 * ready; then the component's own health endpoint (the httpGet of its readiness, startup or
 * liveness probe, in that order) must answer 200. When a component does not come up, the failure
 * carries what the agent knows — restarts, last exit code, waiting reason, probe failures — and the
 * last lines of its log, instead of kubeadm's "timed out waiting for the condition".
 */
import type { V1Pod, V1Probe } from '@kubernetes/client-node';
import { ANNOTATION_ERRORS, ANNOTATION_HASH, ANNOTATION_SOURCE_ERROR, AgentClient, findPod, tailContainerLog } from '../agent/index.js';
import { joinHostPort } from '../config/net.js';
import type { Host } from '../host/host.js';
import { probeSucceeds } from '../net/http-probe.js';

/** A container that restarted this often without getting ready is crash-looping: no need to wait the full timeout. */
export const CRASH_LOOP_RESTARTS = 2;
/** Log lines a failure shows. */
export const FAILURE_LOG_LINES = 15;

export interface ComponentWait {
  component: string;
  nodeName: string;
  /** Wait for a hash different from this one (the new manifest's pod)... */
  notHash?: string;
  /** ...or for exactly this one (a restored manifest). */
  hash?: string;
  timeoutMs: number;
  pollMs?: number;
}

/** The pod's state as one line: `restarts 3, last exit code 1 (Error), waiting CrashLoopBackOff: ...; probe failures: ...`. */
export function describePodStatus(pod: V1Pod | undefined): string {
  if (!pod) return 'the agent reports no such pod';
  const parts: string[] = [`phase ${pod.status?.phase ?? 'Unknown'}`];
  for (const cs of pod.status?.containerStatuses ?? []) {
    const term = cs.state?.terminated ?? cs.lastState?.terminated;
    const bits = [`restarts ${cs.restartCount ?? 0}`];
    if (term) bits.push(`last exit code ${term.exitCode}${term.reason ? ` (${term.reason})` : ''}`);
    if (cs.state?.waiting) bits.push(`waiting ${cs.state.waiting.reason ?? ''}${cs.state.waiting.message ? `: ${cs.state.waiting.message}` : ''}`);
    if (cs.state?.running) bits.push(cs.ready ? 'running, ready' : 'running, not ready');
    parts.push(`${cs.name}: ${bits.join(', ')}`);
  }
  const errors = pod.metadata?.annotations?.[ANNOTATION_ERRORS];
  if (errors) parts.push(`errors: ${errors}`);
  const sourceError = pod.metadata?.annotations?.[ANNOTATION_SOURCE_ERROR];
  if (sourceError) parts.push(`manifest: ${sourceError}`);
  return parts.join('; ');
}

const ready = (pod: V1Pod): boolean => (pod.status?.containerStatuses ?? []).length > 0 && (pod.status?.containerStatuses ?? []).every((c) => c.ready);
const restarts = (pod: V1Pod): number => Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));

/** The component's own health URL, from its probes; undefined when it has no httpGet probe. */
export function healthURL(pod: V1Pod): URL | undefined {
  const c = pod.spec?.containers[0];
  const probe: V1Probe | undefined = [c?.readinessProbe, c?.startupProbe, c?.livenessProbe].find((p) => p?.httpGet);
  const get = probe?.httpGet;
  if (!get) return undefined;
  const scheme = (get.scheme ?? 'HTTP').toLowerCase();
  // kubeadm's probes name their port (`probe-port`): the container's ports say which number
  const port = typeof get.port === 'number' || /^\d+$/.test(String(get.port)) ? Number(get.port) : c?.ports?.find((p) => p.name === get.port)?.containerPort;
  if (port === undefined) return undefined;
  return new URL(`${scheme}://${joinHostPort(get.host || '127.0.0.1', port)}${get.path ?? '/'}`);
}

/** Why a wait failed, with the agent's view of the pod and its last log lines. */
export class ComponentNotUp extends Error {
  constructor(
    readonly component: string,
    readonly reason: string,
    readonly status: string,
    readonly logLines: readonly string[],
  ) {
    super(`${component} ${reason}`);
  }

  /** The lines of the upgrade's error message. */
  details(): string[] {
    const lines = [`${this.component} ${this.reason}`, `  agent status: ${this.status}`];
    if (this.logLines.length > 0) lines.push(`  last ${this.logLines.length} log lines of ${this.component}:`, ...this.logLines.map((l) => `    ${l}`));
    else lines.push(`  no log of ${this.component} on this node`);
    return lines;
  }
}

export class AgentWaiter {
  readonly client: AgentClient;

  constructor(readonly host: Host) {
    this.client = new AgentClient({ host });
  }

  /** The hash the agent runs for a component now (undefined when it has no such pod). */
  async currentHash(component: string, nodeName: string): Promise<string | undefined> {
    return (await this.client.findPod(component, nodeName))?.metadata?.annotations?.[ANNOTATION_HASH];
  }

  /** Resolves when the agent has no pod of the component any more (its manifest was taken away). */
  async waitGone(component: string, nodeName: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const list = await this.client.pods().catch(() => undefined);
      if (list && !findPod(list, component, nodeName)) return;
      await sleep(250);
    }
    throw await this.failure(component, nodeName, `still runs ${Math.round(timeoutMs / 1000)} s after its manifest was removed`);
  }

  /**
   * The new (or restored) pod: its hash as asked, its containers ready by the agent's probes, then
   * its health endpoint answering 200. Ends early when the container crash-loops.
   */
  async waitUp(w: ComponentWait): Promise<V1Pod> {
    const deadline = Date.now() + w.timeoutMs;
    const pollMs = w.pollMs ?? 200;
    let pod: V1Pod | undefined;
    let hashSeen = false;
    // the restarts at first sight: a pod whose manifest ran before (a rollback, a rerun) has the same
    // UID and counts its earlier attempts from their logs, as the kubelet does
    let baseline: number | undefined;
    for (;;) {
      pod = await this.client.findPod(w.component, w.nodeName, 2000);
      const hash = pod?.metadata?.annotations?.[ANNOTATION_HASH];
      const hashOk = hash !== undefined && (w.hash !== undefined ? hash === w.hash : hash !== w.notHash);
      if (pod && hashOk) {
        hashSeen = true;
        // ...taken once the worker reports its containers (before that the count is no count)
        if ((pod.status?.containerStatuses ?? []).length > 0) baseline ??= restarts(pod);
        if (ready(pod)) {
          const url = healthURL(pod);
          if (!url || (await probeSucceeds(url, 2000))) return pod;
        } else if (baseline !== undefined && restarts(pod) - baseline >= CRASH_LOOP_RESTARTS) {
          throw await this.failure(w.component, w.nodeName, `crash-loops: it restarted ${restarts(pod) - baseline} times without getting ready`, pod);
        }
      }
      if (Date.now() >= deadline) break;
      await sleep(pollMs);
    }
    const secs = Math.round(w.timeoutMs / 1000);
    const reason = hashSeen
      ? `did not get ready (agent probes and ${pod ? (healthURL(pod)?.href ?? 'no health endpoint') : 'its health endpoint'}) within ${secs} s`
      : `: the agent did not pick up the new manifest within ${secs} s (its pod hash did not change)`;
    throw await this.failure(w.component, w.nodeName, reason, pod);
  }

  async failure(component: string, nodeName: string, reason: string, pod?: V1Pod): Promise<ComponentNotUp> {
    pod ??= await this.client.findPod(component, nodeName).catch(() => undefined);
    const name = pod?.metadata?.name ?? `${component}-${nodeName}`;
    const container = pod?.spec?.containers[0]?.name ?? component;
    const lines = (await tailContainerLog(this.host, { namespace: pod?.metadata?.namespace ?? 'kube-system', name }, container, FAILURE_LOG_LINES)) ?? [];
    return new ComponentNotUp(component, reason, describePodStatus(pod), lines);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
