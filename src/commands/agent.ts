/**
 * `kubestrap agent` (the static-pod agent, kubelet-compatible flags) and `kubestrap ps` (a table of
 * the agent's pods, read from its read-only port).
 */
import { Command } from 'commander';
import { AGENT_FLAGS, AgentClient, DEFAULT_READ_ONLY_PORT, runAgent, type AgentFlags } from '../agent/index.js';
import { ConfigError } from '../errors.js';
import { psTable } from './ps-table.js';

async function runPs(flags: { readOnlyPort?: string }): Promise<void> {
  const port = Number(flags.readOnlyPort ?? DEFAULT_READ_ONLY_PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`"${flags.readOnlyPort}" is not a port`, { field: '--read-only-port' });
  const agent = new AgentClient(port);
  const [list, errors] = await Promise.all([agent.pods(), agent.errors()]);
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
