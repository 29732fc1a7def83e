/**
 * `kubestrap agent` (the static-pod agent, kubelet-compatible flags) and `kubestrap ps` (a table of
 * the agent's pods, read from its read-only port).
 */
import { readFile } from 'node:fs/promises';
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { Command } from 'commander';
import { Agent, runUntilSignal } from '../agent/agent.js';
import { createMirrorSync, nodeIP } from '../agent/api-sync.js';
import { AGENT_FLAGS, resolveAgentConfig, type AgentFlags } from '../agent/config.js';
import { EXPIRY_WARNING_MS, expiriesFromMetrics } from '../agent/cert-expiry.js';
import { agentJson, agentRequest } from '../agent/local-client.js';
import { Host } from '../host/host.js';
import { ANNOTATION_SEEN } from '../agent/identity.js';
import { createLogger } from '../agent/log.js';
import { createRuntime } from '../agent/runtime/create.js';
import { ANNOTATION_SOURCE_ERROR, type SourceErrorList } from '../agent/server.js';
import { PodWorkers } from '../agent/workers/index.js';
import { ConfigError } from '../errors.js';


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
  const kubeletApi = async (a: Agent) => (await import('../agent/kubelet-server/index.js')).startKubeletApi(config, a, ip, logger);
  const agent = new Agent({ config, runtime, workers, logger, apiSync, kubeletApi });
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

/** `warning:` lines for certificates that expire within 30 days (from the agent's /metrics). */
export function expiryWarnings(metrics: string, now = Date.now()): string[] {
  return expiriesFromMetrics(metrics)
    .filter((c) => c.notAfter.getTime() - now < EXPIRY_WARNING_MS)
    .map((c) => {
      const left = c.notAfter.getTime() - now;
      const when = left <= 0 ? `expired ${shortAge(-left)} ago` : `expires in ${shortAge(left)}`;
      return `warning: certificate ${c.file} ${when} (${c.notAfter.toISOString()}): run "kubestrap certs renew all"`;
    });
}

const PS_OUTPUTS = ['table', 'json', 'yaml'] as const;

interface PsFlags {
  readOnlyPort?: string;
  rootfs?: string;
  output?: string;
}

async function runPs(flags: PsFlags): Promise<void> {
  const output = flags.output ?? 'table';
  if (!(PS_OUTPUTS as readonly string[]).includes(output)) throw new ConfigError(`unknown output format "${output}"`, { field: '--output', hint: `use ${PS_OUTPUTS.join(', ')}` });
  let port: number | undefined;
  if (flags.readOnlyPort !== undefined) {
    port = Number(flags.readOnlyPort);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`"${flags.readOnlyPort}" is not a port`, { field: '--read-only-port' });
  }
  const ep = { host: new Host(flags.rootfs ?? '/'), port };
  const [list, errors, metrics] = await Promise.all([
    agentJson<V1PodList>(ep, '/pods'),
    agentJson<SourceErrorList>(ep, '/errors'),
    agentRequest(ep, 'GET', '/metrics').then((r) => (r.status === 200 ? r.body : ''), () => ''),
  ]);
  if (output === 'json') process.stdout.write(`${JSON.stringify(list, null, 4)}\n`);
  else if (output === 'yaml') process.stdout.write((await import('yaml')).stringify(list));
  else process.stdout.write(psTable(list, errors) + expiryWarnings(metrics).map((l) => `${l}\n`).join(''));
}

export function registerAgent(program: Command): void {
  const agent = program
    .command('agent')
    .description('Run the static-pod agent: runs the pods of a manifest directory and/or URL (kubelet-compatible flags)')
    .addHelpText(
      'after',
      '\nLocal API on the root-only socket /var/lib/kubestrap/agent.sock (and on 127.0.0.1:<read-only-port> when given): /healthz,\n' +
        '/pods (v1 PodList, live status), /errors (source errors), /metrics (Prometheus); POST /restart on the socket only.\n' +
        'Kubelet API on :<port> (10250, HTTPS, client certificates + SubjectAccessReview): /healthz, /pods, /containerLogs (kubectl logs).\n' +
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
    .option('--rootfs <dir>', 'the rootfs the agent runs under (its socket is <rootfs>/var/lib/kubestrap/agent.sock)')
    .option('--read-only-port <port>', "read the agent's TCP read-only port instead of its socket (when it was started with one)")
    .option('-o, --output <format>', `output format: one of ${PS_OUTPUTS.join('|')} (json/yaml: the v1 PodList)`, 'table')
    .action(async (flags: PsFlags) => runPs(flags));
}
