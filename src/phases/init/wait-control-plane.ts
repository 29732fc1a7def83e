/**
 * kubeadm 1.34's wait-control-plane (WaitForAllControlPlaneComponents): poll every component's
 * health endpoint in parallel, insecure TLS, every 500 ms, up to controlPlaneComponentHealthCheck.
 * Endpoints come from the manifests on disk, as kubeadm parses them. On timeout it shows why: the
 * agent's view of each unhealthy pod and the tail of its log.
 */
import type { V1Pod, V1PodList, V1Probe } from '@kubernetes/client-node';
import { AgentClient, findPod, tailContainerLog } from '../../agent/index.js';
import { PORTS, POD_LOGS_DIR } from '../../constants.js';
import path from 'node:path';
import { decodeDocument } from '../../pod/decode.js';
import { probeOnce } from '../../net/http-probe.js';
import { formatDuration } from '../../config/duration.js';
import { joinHostPort } from '../../net/address.js';
import { HostError } from '../../errors.js';
import { sleep } from '../../kube/retry.js';
import { parseFlags } from '../../manifests/command.js';
import type { Arg } from '../../config/types.js';
import type { PhaseData } from '../data.js';
import type { Phase } from '../runner.js';

const POLL_MS = 500;
const LOG_TAIL_LINES = 20;

export interface ComponentCheck {
  /** Component (= container) name: etcd, kube-apiserver, ... */
  name: string;
  url: string;
}

type Lookup = (component: string) => Promise<V1Pod | undefined>;

const flagOf = (args: readonly Arg[], name: string): string | undefined => args.findLast((a) => a.name === name)?.value;

/** kubeadm's getControlPlaneComponents: address/port flags, with the component defaults. */
const FLAG_CHECKS: readonly { name: string; addressFlag: string; defaultAddress: (ctx: PhaseData) => string; defaultPort: number; path: string }[] = [
  {
    name: 'kube-apiserver',
    addressFlag: 'advertise-address',
    defaultAddress: (ctx) => ctx.config.advertiseAddress,
    defaultPort: PORTS.apiServer,
    path: '/livez',
  },
  { name: 'kube-controller-manager', addressFlag: 'bind-address', defaultAddress: () => '127.0.0.1', defaultPort: PORTS.controllerManager, path: '/healthz' },
  { name: 'kube-scheduler', addressFlag: 'bind-address', defaultAddress: () => '127.0.0.1', defaultPort: PORTS.scheduler, path: '/livez' },
];

async function readManifest(ctx: PhaseData, component: string): Promise<V1Pod | undefined> {
  try {
    const file = path.posix.join(ctx.config.paths.manifestsDir, `${component}.yaml`);
    // the agent's decoder: fast, and it reads the file as the agent does
    return decodeDocument(await ctx.host.readText(file), file) as V1Pod;
  } catch {
    return undefined;
  }
}

/** etcd's readiness probe (`http://127.0.0.1:2381/readyz`), resolving a named port. */
export function probeURL(pod: V1Pod | undefined, fallback: string): string {
  const c = pod?.spec?.containers?.[0];
  const probe: V1Probe | undefined = c?.readinessProbe ?? c?.startupProbe ?? c?.livenessProbe;
  const get = probe?.httpGet;
  if (!get) return fallback;
  const port = typeof get.port === 'number' ? get.port : (c?.ports?.find((p) => p.name === get.port)?.containerPort ?? Number(get.port));
  if (!Number.isFinite(port)) return fallback;
  const scheme = (get.scheme ?? 'HTTP').toLowerCase();
  return `${scheme}://${joinHostPort(get.host ?? '127.0.0.1', port)}${get.path ?? '/'}`;
}

/** The four endpoints, read from the manifests where they exist. */
export async function componentChecks(ctx: PhaseData): Promise<ComponentCheck[]> {
  const checks: ComponentCheck[] = [];
  if (ctx.config.cluster.etcd.external === undefined) {
    checks.push({ name: 'etcd', url: probeURL(await readManifest(ctx, 'etcd'), `http://127.0.0.1:${PORTS.etcdMetrics}/readyz`) });
  }
  for (const f of FLAG_CHECKS) {
    const pod = await readManifest(ctx, f.name);
    const c = pod?.spec?.containers?.[0];
    const args = parseFlags([...(c?.command ?? []), ...(c?.args ?? [])]);
    const address = flagOf(args, f.addressFlag) || f.defaultAddress(ctx);
    const port = Number(flagOf(args, 'secure-port') ?? (f.name === 'kube-apiserver' ? ctx.config.bindPort : f.defaultPort));
    checks.push({ name: f.name, url: `https://${joinHostPort(address, port)}${f.path}` });
  }
  return checks;
}

/** "3.214s" style durations for the progress lines. */
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 3 : 1).replace(/\.?0+$/, '')}s`;

async function waitHealthy(check: ComponentCheck, deadline: number, signal: AbortSignal): Promise<number | undefined> {
  const start = Date.now();
  while (!signal.aborted) {
    if (await probeOnce(check.url, Math.max(1000, Math.min(5000, deadline - Date.now())))) return Date.now() - start;
    if (Date.now() + POLL_MS > deadline) return undefined;
    await sleep(POLL_MS, signal);
  }
  return undefined;
}

/** One line per container: state, restarts, last exit code, readiness. */
export function describePod(pod: V1Pod): string[] {
  const lines = [`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: phase ${pod.status?.phase ?? 'Unknown'}`];
  for (const cs of pod.status?.containerStatuses ?? []) {
    const state = cs.state?.running
      ? 'running'
      : cs.state?.waiting
        ? `waiting (${cs.state.waiting.reason ?? ''}${cs.state.waiting.message ? `: ${cs.state.waiting.message}` : ''})`
        : cs.state?.terminated
          ? `exited with code ${cs.state.terminated.exitCode} (${cs.state.terminated.reason ?? ''})`
          : 'unknown';
    const last = cs.lastState?.terminated;
    const lastText = last ? `, last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}` : '';
    lines.push(`  container ${cs.name}: ${state}, ready=${cs.ready}, restarts=${cs.restartCount}${lastText}`);
  }
  for (const cond of pod.status?.conditions ?? []) {
    if (cond.status !== 'True' && cond.message) lines.push(`  ${cond.type}: ${cond.message}`);
  }
  if (pod.status?.message) lines.push(`  ${pod.status.message}`);
  return lines;
}

async function diagnose(ctx: PhaseData, failed: ComponentCheck[], lookup: Lookup): Promise<string> {
  const out: string[] = [];
  for (const check of failed) {
    const podName = `${check.name}-${ctx.config.nodeName}`;
    out.push(`\n${check.name} is not healthy at ${check.url}`);
    const pod = await lookup(check.name);
    out.push(...(pod ? describePod(pod) : [`  the agent reports no pod ${podName} (is the agent running? kubestrap ps)`]));
    const tail = await tailContainerLog(ctx.host, { namespace: 'kube-system', name: podName }, check.name, LOG_TAIL_LINES);
    if (tail) out.push(`  last ${tail.length} log lines:`, ...tail.map((l) => `    ${l}`));
    else out.push(`  no log under ${ctx.host.path(POD_LOGS_DIR)}/kube-system_${podName}_*/${check.name}/`);
  }
  return out.join('\n');
}

export async function waitForControlPlane(ctx: PhaseData, lookup: Lookup = agentLookup(ctx)): Promise<void> {
  const timeoutMs = ctx.config.timeoutsMs.controlPlaneComponentHealthCheck;
  const checks = await componentChecks(ctx);
  ctx.out.line('control-plane-check', `Waiting for healthy control plane components. This can take up to ${formatDuration(timeoutMs)}`);
  for (const c of checks) ctx.out.line('control-plane-check', `Checking ${c.name} at ${c.url}`);
  const deadline = Date.now() + timeoutMs;
  const stop = new AbortController();
  const results = await Promise.all(
    checks.map(async (c) => {
      const took = await waitHealthy(c, deadline, stop.signal);
      if (took !== undefined) ctx.out.line('control-plane-check', `${c.name} is healthy after ${seconds(took)}`);
      return { check: c, healthy: took !== undefined };
    }),
  );
  const failed = results.filter((r) => !r.healthy).map((r) => r.check);
  if (failed.length === 0) return;
  ctx.out.text(await diagnose(ctx, failed, lookup));
  throw new HostError(`control plane components did not become healthy within ${formatDuration(timeoutMs)}: ${failed.map((f) => f.name).join(', ')}`, {
    hint: 'see the pod status and log lines above; `kubestrap ps` and the agent log show more',
  });
}

/** Finds a component's pod in the agent's /pods (asked once per diagnosis). */
function agentLookup(ctx: PhaseData): Lookup {
  let list: Promise<V1PodList | undefined> | undefined;
  return async (component) => {
    list ??= new AgentClient({ host: ctx.host }).pods(3000).catch(() => undefined);
    return findPod(await list, component, ctx.config.nodeName);
  };
}

export const waitControlPlanePhase: Phase<PhaseData> = {
  name: 'wait-control-plane',
  help: 'Wait for the control plane to start',
  run: async (ctx) => {
    if (ctx.dryRun) {
      ctx.out.line('dryrun', 'Would wait for the control plane components to become healthy');
      return;
    }
    await waitForControlPlane(ctx);
  },
};
