/**
 * `kubestrap agent` (the static-pod agent, kubelet-compatible flags) and `kubestrap ps` (a table of
 * the agent's pods, read from its read-only port).
 */
import { Command } from 'commander';
import { AGENT_FLAGS, AgentClient, runAgent, type AgentFlags } from '../agent/index.js';
import { ConfigError } from '../errors.js';
import { Host } from '../host/host.js';
import { expiryWarnings, psTable } from './ps-table.js';

const PS_OUTPUTS = ['table', 'json', 'yaml'] as const;

interface PsFlags {
  readOnlyPort?: string;
  rootfs?: string;
  output?: string;
}

async function runPs(flags: PsFlags): Promise<void> {
  const output = flags.output ?? 'table';
  if (!(PS_OUTPUTS as readonly string[]).includes(output))
    throw new ConfigError(`unknown output format "${output}"`, { field: '--output', hint: `use ${PS_OUTPUTS.join(', ')}` });
  let port: number | undefined;
  if (flags.readOnlyPort !== undefined) {
    port = Number(flags.readOnlyPort);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`"${flags.readOnlyPort}" is not a port`, { field: '--read-only-port' });
  }
  const agent = new AgentClient({ host: new Host(flags.rootfs ?? '/'), port });
  const [list, errors, metrics] = await Promise.all([agent.pods(), agent.errors(), agent.metricsText()]);
  if (output === 'json') process.stdout.write(`${JSON.stringify(list, null, 4)}\n`);
  else if (output === 'yaml') process.stdout.write((await import('../util/yaml-lazy.js')).stringify(list));
  else
    process.stdout.write(
      psTable(list, errors) +
        expiryWarnings(metrics)
          .map((l) => `${l}\n`)
          .join(''),
    );
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
