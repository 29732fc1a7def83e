/**
 * The one client of the agent's local API (its root-only unix socket, or the read-only port when one
 * is given; transport in local-client.ts): /healthz, /pods, /errors, waiting for a pod to run a given
 * manifest hash or to be ready, and the tail of a container's log. init's agent and
 * wait-control-plane phases, `kubestrap ps`, and upgrade and certificate renewal (which restart a
 * static pod and wait for its new version) use it.
 */
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { HostError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';
import { ANNOTATION_HASH } from './annotations.js';
import { agentRequest, type AgentEndpoint } from './local-client.js';
import { findContainerLog } from './logs/find.js';
import type { RestartReport } from './restart.js';
import type { SourceErrorList } from './server.js';

export type { SourceErrorList } from './server.js';

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/** The local API: the root-only unix socket under the rootfs, or 127.0.0.1:<port> when given. */
export class AgentClient {
  constructor(readonly endpoint: AgentEndpoint) {}

  /** True when /healthz answers 200. */
  healthz(timeoutMs = 1000): Promise<boolean> {
    return agentRequest(this.endpoint, 'GET', '/healthz', undefined, timeoutMs).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  /** GET a JSON document; HostError naming the agent when it does not answer or answers non-200. */
  async get<T>(path: string, timeoutMs = 5000): Promise<T> {
    const res = await agentRequest(this.endpoint, 'GET', path, undefined, timeoutMs);
    if (res.status !== 200) throw new HostError(`the agent answered ${path} with HTTP ${res.status}: ${res.body.trim()}`);
    try {
      return JSON.parse(res.body) as T;
    } catch (err) {
      throw new HostError(`the agent answered ${path} with invalid JSON: ${messageOf(err)}`, { cause: err });
    }
  }

  /** The agent's pods as a v1 PodList with live status. */
  pods(timeoutMs = 5000): Promise<V1PodList> {
    return this.get<V1PodList>('/pods', timeoutMs);
  }

  /** The Prometheus text of /metrics; empty when the agent does not answer it. */
  metricsText(timeoutMs = 5000): Promise<string> {
    return agentRequest(this.endpoint, 'GET', '/metrics', undefined, timeoutMs).then(
      (r) => (r.status === 200 ? r.body : ''),
      () => '',
    );
  }

  /**
   * POST /restart (socket only): the agent restarts, in stop/start order, the pods that use any of
   * `files`, and answers once each runs again and is ready (5 min per pod at most).
   */
  async restartUsing(files: readonly string[], reason: string, timeoutMs = 30 * 60_000): Promise<RestartReport> {
    const res = await agentRequest(this.endpoint, 'POST', '/restart', { files, reason }, timeoutMs);
    if (res.status !== 200) throw new HostError(`the agent refused the restart: HTTP ${res.status} ${res.body.trim()}`);
    return JSON.parse(res.body) as RestartReport;
  }

  /** Source errors (broken manifests, failed fetches). */
  errors(timeoutMs = 5000): Promise<SourceErrorList> {
    return this.get<SourceErrorList>('/errors', timeoutMs);
  }

  /** A static pod by full name (`<name>-<node>`) or `component` label; undefined when the agent has none or does not answer. */
  async findPod(component: string, nodeName: string, timeoutMs = 3000): Promise<V1Pod | undefined> {
    const list = await this.pods(timeoutMs).catch(() => undefined);
    return findPod(list, component, nodeName);
  }

  /**
   * Waits until the pod runs the manifest with this hash (`kubernetes.io/config.hash`) and, with
   * `ready`, all its containers are ready: what an upgrade or a certificate renewal waits for after
   * rewriting a manifest. Resolves to the pod; HostError on timeout.
   */
  async waitForPod(component: string, nodeName: string, want: { hash?: string; ready?: boolean }, opts: WaitOptions): Promise<V1Pod> {
    const deadline = Date.now() + opts.timeoutMs;
    let last: V1Pod | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      last = await this.findPod(component, nodeName);
      if (last && podMatches(last, want)) return last;
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
    const what = [want.hash ? `hash ${want.hash}` : '', want.ready ? 'ready' : ''].filter(Boolean).join(' and ');
    throw new HostError(`pod ${component}-${nodeName} is not ${what || 'present'} after ${opts.timeoutMs} ms`, {
      hint: last ? `the agent reports phase ${last.status?.phase ?? 'Unknown'}; see kubestrap ps` : 'the agent reports no such pod; see kubestrap ps',
    });
  }
}

export function findPod(list: V1PodList | undefined, component: string, nodeName: string): V1Pod | undefined {
  return list?.items.find((p) => p.metadata?.name === `${component}-${nodeName}` || p.metadata?.labels?.component === component);
}

function podMatches(pod: V1Pod, want: { hash?: string; ready?: boolean }): boolean {
  if (want.hash !== undefined && pod.metadata?.annotations?.[ANNOTATION_HASH] !== want.hash) return false;
  if (want.ready && !(pod.status?.containerStatuses ?? []).every((c) => c.ready)) return false;
  if (want.ready && (pod.status?.containerStatuses ?? []).length === 0) return false;
  return true;
}

/**
 * The last lines of a static pod's current container log (CRI log format, prefix kept: it has the
 * time), as `kubestrap logs` finds it, else of its previous attempt; undefined when there is none.
 */
export async function tailContainerLog(host: Host, pod: { namespace: string; name: string }, container: string, lines = 20): Promise<string[] | undefined> {
  // between two attempts of a crash-looping container the current one has no log yet: the previous one says why
  for (const previous of [false, true]) {
    try {
      const file = await findContainerLog(host, { pod: pod.name, namespace: pod.namespace, container, previous });
      const tail = (await readFile(file, 'utf8')).split('\n').filter(Boolean).slice(-lines);
      if (tail.length > 0) return tail;
    } catch {
      // no such attempt
    }
  }
  return undefined;
}
