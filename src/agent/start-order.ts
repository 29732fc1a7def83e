/**
 * Start and stop order between the static pods of one node. The kubelet starts every static pod at
 * once (kubeadm pain point #14): on a 2-core node the controller-manager and scheduler then burn
 * CPU the API server needs to come up, only to retry it until it answers; and stopping them all at
 * once leaves them (and kube-apiserver, when etcd goes first) retrying a dead peer until their
 * grace period ends.
 *
 * Two annotations, each comma-separated http(s) URLs of what a pod needs on this node:
 *  - `kubestrap.io/start-after`: when its worker starts it afresh (not an adopted pod) it waits
 *    until each URL answers as a kubelet httpGet probe counts success (status 200–399, TLS not
 *    verified), for at most START_AFTER_TIMEOUT_MS, then starts anyway;
 *  - `kubestrap.io/depends-on`: no wait (for a pod that retries its peer by itself and does useful
 *    start-up work meanwhile, like kube-apiserver with etcd), only the stop order.
 * The stop order is the reverse of both: a pod is stopped before the pods serving the URLs it
 * names — a pod serves a URL when one of its containers declares that port (containerPort, hostPort
 * or a probe port). Pods without them start and stop as the kubelet's do: all at once.
 */
import https from 'node:https';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export const START_AFTER_ANNOTATION = 'kubestrap.io/start-after';
export const DEPENDS_ON_ANNOTATION = 'kubestrap.io/depends-on';
/** A URL that never answers delays its dependants by this much, not forever. */
export const START_AFTER_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

/** The URLs a pod waits for (invalid or non-http entries are ignored). */
export function startAfterURLs(pod: V1Pod | undefined): URL[] {
  return annotationURLs(pod, START_AFTER_ANNOTATION);
}

function annotationURLs(pod: V1Pod | undefined, annotation: string): URL[] {
  const value = pod?.metadata?.annotations?.[annotation] ?? '';
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => URL.canParse(s))
    .map((s) => new URL(s))
    .filter((u) => u.protocol === 'http:' || u.protocol === 'https:');
}

/** The port a URL names, with the scheme's default. */
function urlPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** Ports a pod's containers declare or probe (named probe ports resolve through containerPorts). */
export function servedPorts(pod: V1Pod | undefined): number[] {
  const ports = new Set<number>();
  const containers: V1Container[] = [...(pod?.spec?.initContainers ?? []), ...(pod?.spec?.containers ?? [])];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      ports.add(p.containerPort);
      if (p.hostPort) ports.add(p.hostPort);
    }
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
      if (typeof port === 'number') ports.add(port);
    }
  }
  return [...ports];
}

/** What ordering needs to know about one pod; also what a checkpoint keeps for pods without a manifest. */
export interface OrderInfo {
  /** URLs of both annotations: what must stop after this pod. */
  startAfter: string[];
  ports: number[];
}

export function orderInfo(pod: V1Pod | undefined): OrderInfo {
  const needs = [...startAfterURLs(pod), ...annotationURLs(pod, DEPENDS_ON_ANNOTATION)];
  return { startAfter: needs.map(String), ports: servedPorts(pod) };
}

/**
 * Groups items into stop waves: every wave stops completely before the next begins. An item's
 * wave comes before the waves of the items serving the ports it waits for (a cycle is broken where
 * it is found; a port nobody serves adds no constraint).
 */
export function stopWaves<T>(items: readonly T[], info: (item: T) => OrderInfo): T[][] {
  const infos = items.map(info);
  const depth = new Map<number, number>();
  // depth = how many providers are below an item: providers stop after their dependants
  const providersOf = (i: number): number[] => {
    const ports = new Set(infos[i]!.startAfter.filter((s) => URL.canParse(s)).map((s) => urlPort(new URL(s))));
    return infos.flatMap((x, j) => (j !== i && x.ports.some((p) => ports.has(p)) ? [j] : []));
  };
  const visit = (i: number, path: Set<number>): number => {
    const known = depth.get(i);
    if (known !== undefined) return known;
    if (path.has(i)) return 0;
    path.add(i);
    const d = Math.max(-1, ...providersOf(i).map((j) => visit(j, path))) + 1;
    path.delete(i);
    depth.set(i, d);
    return d;
  };
  const byDepth = new Map<number, T[]>();
  items.forEach((item, i) => {
    const d = visit(i, new Set());
    byDepth.set(d, [...(byDepth.get(d) ?? []), item]);
  });
  return [...byDepth.entries()].sort((a, b) => b[0] - a[0]).map(([, list]) => list);
}

/** One kubelet-style HTTP(S) probe of a URL: true for a status 200–399 (or any status with anyStatus). */
export async function probeURL(url: URL, timeoutMs = 1000, anyStatus = false): Promise<boolean> {
  const code = await probeStatus(url, timeoutMs);
  return code !== undefined && (anyStatus || (code >= 200 && code < 400));
}

/** One GET without credentials (serving certificate not verified); the HTTP status, or undefined when nothing answered. */
export async function probeStatus(url: URL, timeoutMs = 1000): Promise<number | undefined> {
  // node:http on first use: an ES import of it evaluates its lazy WebSocket/undici getters, ≈ 20 ms
  // of the start-up of every command whose chunks include this module (node --cpu-prof).
  const { get } = url.protocol === 'https:' ? https : await import('node:http');
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode || undefined);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

/**
 * Resolves once every URL answered (true), or false after timeoutMs; rejects with the signal's
 * reason when aborted.
 */
export async function waitForURLs(urls: readonly URL[], signal: AbortSignal, timeoutMs = START_AFTER_TIMEOUT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const pending = [...urls];
  while (pending.length > 0) {
    signal.throwIfAborted();
    const answered = await Promise.all(pending.map((u) => probeURL(u)));
    for (let i = answered.length - 1; i >= 0; i--) if (answered[i]) pending.splice(i, 1);
    if (pending.length === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}
