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
import { watchApiServerSlices } from '../kube/api-endpoints.js';
import { kubeClient } from '../kube/client.js';
import { ApiBalancer, readyzCheck, tcpCheck, upstreamsOfSlices, type ApiEndpointSlice, type HealthCheck, type Upstream } from '../lb/balancer.js';
import { splitHostPort } from '../net/address.js';

interface LbFlags {
  listen: string;
  seed: string[];
  kubeconfig?: string;
  healthCheck: string;
  rootfs?: string;
}

function endpoint(text: string, field: string): Upstream {
  const { host, port } = splitHostPort(text);
  const n = Number(port);
  if (!host || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${JSON.stringify(text)} is not host:port`, { field, hint: 'e.g. 10.0.0.11:6443' });
  }
  return { host, port: n };
}

async function runLb(flags: LbFlags): Promise<void> {
  const listen = endpoint(flags.listen, '--listen');
  const seeds = flags.seed.map((s) => endpoint(s, '--seed'));
  if (seeds.length === 0 && !flags.kubeconfig) {
    throw new ConfigError('no API server to balance over', {
      field: '--seed',
      hint: 'give --seed <host:port> (repeatable) and/or --kubeconfig to follow the kubernetes EndpointSlice',
    });
  }
  if (flags.healthCheck !== 'tcp' && flags.healthCheck !== 'readyz') {
    throw new ConfigError(`unknown health check ${JSON.stringify(flags.healthCheck)}`, { field: '--health-check', hint: 'tcp or readyz' });
  }
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const client = flags.kubeconfig ? await kubeClient(flags.kubeconfig, new Host(flags.rootfs ?? '/')) : undefined;
  let check: HealthCheck = tcpCheck;
  if (flags.healthCheck === 'readyz') {
    const ca = client?.kc.getCurrentCluster()?.caData;
    if (!ca)
      throw new ConfigError('--health-check readyz needs the cluster CA', { field: '--kubeconfig', hint: 'give a kubeconfig with certificate-authority-data' });
    check = readyzCheck(Buffer.from(ca, 'base64'));
  }
  const lb = new ApiBalancer({ listen, seeds, check, log });
  await lb.start();
  log(`[lb] listening on ${flags.listen}: ${lb.status().length} upstream(s), ${lb.status().filter((s) => s.healthy).length} healthy`);
  const watch = client
    ? watchApiServerSlices<ApiEndpointSlice & { metadata?: { name?: string } }>(client, (slices) => lb.setDiscovered(upstreamsOfSlices(slices)), log)
    : undefined;
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  watch?.stop();
  await lb.stop();
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
    .option('--health-check <kind>', 'tcp (connect) or readyz (GET /readyz, verified with the kubeconfig CA)', 'tcp')
    .option('--rootfs <dir>', 'host paths (the kubeconfig and the files it names) are under this directory')
    .action(async (flags: LbFlags) => runLb(flags));
}
