/**
 * `kubestrap lb`: the node-local API load balancer as a small daemon, for nodes whose kubelet (not the
 * kubestrap agent) talks to the API: it listens on 127.0.0.1:7443 and forwards to the seeds and to
 * every API server the `kubernetes` EndpointSlice lists (watched with --kubeconfig). Point the
 * kubelet's kubeconfig at https://127.0.0.1:7443 with `tls-server-name: kubernetes`.
 */
import type { Command } from 'commander';
import { PORTS } from '../constants.js';
import { ConfigError } from '../errors.js';
import { Host } from '../host/host.js';
import { startNodeLocalBalancer } from '../agent/index.js';
import { kubeClient } from '../kube/client.js';
import { parseUpstream, readyzCheck, tcpCheck, type HealthCheck } from '../lb/balancer.js';

interface LbFlags {
  listen: string;
  seed: string[];
  kubeconfig?: string;
  healthCheck: string;
  caFile?: string;
  waitForKubeconfig?: boolean;
  stateFile?: string;
  rootfs?: string;
}

async function runLb(flags: LbFlags): Promise<void> {
  const listen = parseUpstream(flags.listen, '--listen');
  const seeds = flags.seed.map((s) => parseUpstream(s, '--seed'));
  if (seeds.length === 0 && !flags.kubeconfig) {
    throw new ConfigError('no API server to balance over', {
      field: '--seed',
      hint: 'give --seed <host:port> (repeatable) and/or --kubeconfig to follow the kubernetes EndpointSlice',
    });
  }
  if (flags.healthCheck !== 'tcp' && flags.healthCheck !== 'readyz') {
    throw new ConfigError(`unknown health check ${JSON.stringify(flags.healthCheck)}`, { field: '--health-check', hint: 'tcp or readyz' });
  }
  if (flags.waitForKubeconfig && !flags.kubeconfig) {
    throw new ConfigError('--wait-for-kubeconfig needs --kubeconfig', { field: '--wait-for-kubeconfig', hint: 'name the kubeconfig to wait for' });
  }
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const host = new Host(flags.rootfs ?? '/');
  // waiting: the kubelet writes kubelet.conf only after its TLS bootstrap, which goes through us
  const client = flags.kubeconfig && !flags.waitForKubeconfig ? await kubeClient(flags.kubeconfig, host) : undefined;
  let check: HealthCheck = tcpCheck;
  if (flags.healthCheck === 'readyz') {
    const ca = flags.caFile ? await host.readText(flags.caFile) : client?.kc.getCurrentCluster()?.caData;
    if (!ca)
      throw new ConfigError('--health-check readyz needs the cluster CA', {
        field: '--ca-file',
        hint: 'give --ca-file, or a --kubeconfig with certificate-authority-data',
      });
    check = readyzCheck(flags.caFile ? ca : Buffer.from(ca, 'base64'));
  }
  const balancer = await startNodeLocalBalancer({ host, listen, seeds, check, client, kubeconfig: flags.kubeconfig, stateFile: flags.stateFile, log });
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  await balancer.stop();
}

export function registerLb(program: Command): void {
  program
    .command('lb')
    .description(`Run the node-local API load balancer (127.0.0.1:${PORTS.apiLoadBalancer}) for a kubelet node`)
    .option('--listen <host:port>', 'where to listen', `127.0.0.1:${PORTS.apiLoadBalancer}`)
    .option(
      '--seed <host:port>',
      'an API server (or the controlPlaneEndpoint) to use always; repeatable',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--kubeconfig <file>', "follow the kubernetes EndpointSlice with this kubeconfig's credentials (the kubelet's kubelet.conf)")
    .option(
      '--wait-for-kubeconfig',
      'balance over the seeds until the kubeconfig exists (the kubelet writes it after its TLS bootstrap), then follow the slice',
    )
    .option('--health-check <kind>', 'tcp (connect) or readyz (GET /readyz, verified with the CA of --ca-file or the kubeconfig)', 'tcp')
    .option(
      '--state-file <file>',
      'keep the servers found in the slice here, and start from them after a restart (join uses /var/lib/kubestrap/api-servers.json)',
    )
    .option('--ca-file <file>', "the cluster CA for the readyz check (default: the kubeconfig's)")
    .option('--rootfs <dir>', 'host paths (the kubeconfig and the files it names) are under this directory')
    .action(async (flags: LbFlags) => runLb(flags));
}
