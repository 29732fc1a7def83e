/**
 * Restarting exactly the static pods that use a set of host files (after `certs renew`): kubeadm
 * tells the operator to restart all four components by moving manifests away; the agent knows which
 * pod mounts which host path, so it restarts those and no other.
 *
 * A pod uses a file when one of its containers mounts it through a hostPath volume: the file itself,
 * or a directory holding it that the container's command, args or env name the file (or a directory
 * above it) under. A mounted directory the container names nothing in counts as used as a whole (we
 * cannot tell which files it reads). So kube-controller-manager, which mounts /etc/kubernetes/pki but
 * names only ca.*, sa.key and front-proxy-ca.crt in its flags, is not restarted for front-proxy-client.
 *
 * The pods restart one at a time, the ones others wait for first (etcd, then kube-apiserver: the
 * reverse of the stop order of src/agent/start-order.ts), each waiting until Ready before the next.
 */
import path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { orderInfo, stopWaves } from './start-order.js';
import type { StaticPod } from './pod-types.js';

interface Mount {
  /** Host path (volume path + subPath). */
  hostPath: string;
  /** Where the container sees it. */
  mountPath: string;
}

const under = (file: string, dir: string): boolean => file === dir || file.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

function mountsOf(pod: V1Pod, c: V1Container): Mount[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const out: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const hp = volumes.get(m.name)?.hostPath?.path;
    if (!hp) continue;
    out.push({ hostPath: path.posix.normalize(m.subPath ? path.posix.join(hp, m.subPath) : hp), mountPath: path.posix.normalize(m.mountPath) });
  }
  return out;
}

/** Absolute paths named in the container's command, args and env (`--flag=/a,/b`, `/a`, `x=/a`). */
function namedPaths(c: V1Container): string[] {
  const words = [...(c.command ?? []), ...(c.args ?? []), ...(c.env ?? []).map((e) => e.value ?? '')];
  const out: string[] = [];
  for (const w of words) {
    const value = w.includes('=') ? w.slice(w.indexOf('=') + 1) : w;
    for (const part of value.split(/[,:\s]/)) if (part.startsWith('/')) out.push(path.posix.normalize(part));
  }
  return out;
}

/** A container path as a host path through the container's mounts (the deepest mount wins). */
function toHost(p: string, mounts: readonly Mount[]): string | undefined {
  const m = mounts.filter((x) => under(p, x.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return m && path.posix.join(m.hostPath, path.posix.relative(m.mountPath, p));
}

/** The files of `files` (host paths) the pod uses, per the rule above. */
export function filesUsed(pod: V1Pod, files: readonly string[]): string[] {
  const used = new Set<string>();
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const mounts = mountsOf(pod, c);
    const named = namedPaths(c)
      .map((p) => toHost(p, mounts))
      .filter((p): p is string => p !== undefined);
    for (const file of files) {
      for (const m of mounts) {
        if (!under(file, m.hostPath)) continue;
        const namedHere = named.filter((n) => under(n, m.hostPath));
        if (file === m.hostPath || namedHere.length === 0 || namedHere.some((n) => under(file, n))) used.add(file);
      }
    }
  }
  return files.filter((f) => used.has(f));
}

/** The pods that use any of `files`, in restart order (providers first). */
export function podsUsing(pods: readonly StaticPod[], files: readonly string[]): StaticPod[] {
  const users = pods.filter((p) => filesUsed(p.pod, files).length > 0);
  return stopWaves(users, (p) => orderInfo(p.pod))
    .reverse()
    .flat();
}

/** What the agent can do to one pod (PodWorkers satisfies it). */
export interface Restarter {
  restart(uid: string, reason: string): Promise<number> | undefined;
  ready(uid: string): boolean | undefined;
}

export interface RestartedPod {
  namespace: string;
  name: string;
  /** Containers restarted (0: none was running, it starts with the new files anyway). */
  containers: number;
  /** Ready again within the timeout. */
  ready: boolean;
  /** Request → the old containers stopped and the new ones running (the stop takes up to the grace period). */
  runningMs: number;
  /** Request → Ready (or the timeout). */
  ms: number;
  /** The files of the request it uses. */
  files: string[];
}

export interface RestartReport {
  kind: 'RestartReport';
  restarted: RestartedPod[];
  /** Pods not restarted because one before them did not get ready (the rest are left alone). */
  notRestarted: { namespace: string; name: string }[];
}

export interface RestartOptions {
  reason: string;
  readyTimeoutMs?: number;
  pollMs?: number;
}

/** Restarts `pods` one at a time, each waiting until Ready; stops at the first that does not get ready. */
export async function restartInOrder(pods: readonly StaticPod[], files: readonly string[], workers: Restarter, opts: RestartOptions): Promise<RestartReport> {
  const report: RestartReport = { kind: 'RestartReport', restarted: [], notRestarted: [] };
  const timeout = opts.readyTimeoutMs ?? 5 * 60_000;
  const poll = opts.pollMs ?? 200;
  for (const [i, pod] of pods.entries()) {
    const t0 = Date.now();
    const pending = workers.restart(pod.uid, opts.reason);
    if (!pending) continue; // removed meanwhile
    const containers = await pending;
    const runningMs = Date.now() - t0;
    while (workers.ready(pod.uid) === false && Date.now() - t0 < timeout) await new Promise((r) => setTimeout(r, poll));
    const ready = workers.ready(pod.uid) === true;
    report.restarted.push({ namespace: pod.namespace, name: pod.name, containers, ready, runningMs, ms: Date.now() - t0, files: filesUsed(pod.pod, files) });
    if (!ready) {
      report.notRestarted = pods.slice(i + 1).map((p) => ({ namespace: p.namespace, name: p.name }));
      break;
    }
  }
  return report;
}
