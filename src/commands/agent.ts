/**
 * `kubestrap agent` (the static-pod agent, kubelet-compatible flags) and `kubestrap ps` (a table of
 * the agent's pods, read from its read-only port).
 */
import { readFile } from 'node:fs/promises';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { Command } from 'commander';
import { Agent, runUntilSignal } from '../agent/agent.js';
import { createMirrorSync, nodeIP } from '../agent/api-sync.js';
import { AGENT_FLAGS, DEFAULT_READ_ONLY_PORT, resolveAgentConfig, type AgentFlags } from '../agent/config.js';
import { ANNOTATION_SEEN } from '../agent/identity.js';
import { createLogger } from '../agent/log.js';
import { createRuntime } from '../agent/runtime/create.js';
import { ANNOTATION_SOURCE_ERROR, type SourceErrorList } from '../agent/server.js';
import { PodWorkers } from '../agent/workers/index.js';
import { ConfigError, HostError, messageOf } from '../errors.js';


async function runAgent(flags: AgentFlags): Promise<void> {
  const config = await resolveAgentConfig(flags, (p) => readFile(p, 'utf8'));
  await config.host.checkRootfs();
  const logger = createLogger();
  const ip = await nodeIP(config);
  const runtime = await createRuntime({ runtime: config.runtime, host: config.host, nodeName: config.nodeName, endpoint: config.containerRuntimeEndpoint });
  const workers = new PodWorkers({ runtime, host: config.host, nodeName: config.nodeName, nodeIP: ip, stateDir: config.stateDir, logger });
  const kubeconfig = config.kubeconfig;
  const apiSync =
    kubeconfig === undefined
      ? undefined
      : (a: Agent) =>
          createMirrorSync({
            config: { ...config, kubeconfig },
            logger,
            nodeIP: ip,
            desired: a.desired(),
            states: () => workers.states(),
            onChange: (cb) => workers.onChange(cb),
            sourcesReady: () => a.sourcesReady(),
          });
  const agent = new Agent({ config, runtime, workers, logger, apiSync });
  await runUntilSignal(agent, logger);
  // Pods (when left running) are not our children to wait for; nothing else should keep us alive.
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// kubestrap ps

/** kubectl's short age: 45s, 3m, 5h, 2d. */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** kubectl's STATUS: a container's waiting/terminated reason wins over the phase. */
function podStatus(pod: V1Pod): string {
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const reason = cs.state?.waiting?.reason ?? (cs.state?.terminated && pod.status?.phase === 'Running' ? cs.state.terminated.reason : undefined);
    if (reason) return reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

/** The `kubestrap ps` table; errors of origins without a pod follow the table. */
export function psTable(list: V1PodList, errors: SourceErrorList, now = Date.now()): string {
  const rows: string[][] = [['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'ERROR']];
  for (const pod of list.items) {
    const statuses = pod.status?.containerStatuses ?? [];
    const total = pod.spec?.containers.length ?? statuses.length;
    const ready = statuses.filter((c) => c.ready).length;
    const restarts = statuses.reduce((n, c) => n + c.restartCount, 0);
    const started = pod.status?.startTime ?? pod.metadata?.annotations?.[ANNOTATION_SEEN];
    const age = started ? shortAge(now - new Date(started).getTime()) : '<unknown>';
    const err = pod.metadata?.annotations?.[ANNOTATION_SOURCE_ERROR] ? 'manifest error: running last good' : (pod.metadata?.annotations?.['kubestrap.io/errors'] ?? '');
    rows.push([pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', `${ready}/${total}`, podStatus(pod), String(restarts), age, err]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd());
  // a refused manifest has one line per violation, each naming the file and field
  for (const e of errors.items) {
    const kept = e.keptPod ? ` (still running: ${e.keptPod.namespace}/${e.keptPod.name})` : '';
    const parts = e.message.split('\n');
    parts.forEach((line, i) => lines.push(`error: ${line}${i === parts.length - 1 ? kept : ''}`));
  }
  return `${lines.join('\n')}\n`;
}

async function getJson<T>(port: number, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new HostError(`cannot reach the agent on 127.0.0.1:${port}: ${messageOf((err as Error).cause ?? err)}`, { hint: 'is `kubestrap agent` running? (--read-only-port)' });
  }
  if (!res.ok) throw new HostError(`agent answered ${path} with HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function runPs(flags: { readOnlyPort?: string }): Promise<void> {
  const port = Number(flags.readOnlyPort ?? DEFAULT_READ_ONLY_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`"${flags.readOnlyPort}" is not a port`, { field: '--read-only-port' });
  const [list, errors] = await Promise.all([getJson<V1PodList>(port, '/pods'), getJson<SourceErrorList>(port, '/errors')]);
  process.stdout.write(psTable(list, errors));
}

export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('Run the static-pod agent: runs the pods of a manifest directory and/or URL (kubelet-compatible flags)')
    .addHelpText(
      'after',
      '\nRead-only HTTP on 127.0.0.1:<read-only-port>: /healthz, /pods (v1 PodList, live status), /errors (source errors), /metrics (Prometheus).\n' +
        'On SIGTERM the agent stops watching and leaves its pods running (like the kubelet) unless --stop-pods-on-exit.\n',
    );
  for (const f of AGENT_FLAGS) {
    if (f.repeatable) agent.option(f.flags, f.help, (v: string, prev: string[] = []) => [...prev, v]);
    else agent.option(f.flags, f.help);
  }
  agent.action(async (flags: AgentFlags) => runAgent(flags));

  program
    .command('ps')
    .description("List the agent's static pods (from its read-only port)")
    .option('--read-only-port <port>', `the agent's read-only port (default ${DEFAULT_READ_ONLY_PORT})`)
    .action(async (flags: { readOnlyPort?: string }) => runPs(flags));
}
