/**
 * The node-local API balancer (src/lb) with its discovery: listens, balances over the seeds, and
 * follows the `kubernetes` EndpointSlice with the node's kubeconfig, once that exists (the TLS
 * bootstrap writes it, through the balancer). Run inside the agent on an agent node
 * (`--api-lb-seed`) and by `kubestrap lb` beside a kubelet.
 */
import path from 'node:path';
import type { Host } from '../host/host.js';
import { watchApiServerSlices, type SliceWatch } from '../kube/api-endpoints.js';
import { kubeClient, type KubeClient } from '../kube/client.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { ApiBalancer, upstreamKey, upstreamsOfSlices, type ApiEndpointSlice, type HealthCheck, type Upstream } from '../lb/balancer.js';

/** How often a missing kubeconfig is looked for again. */
const KUBECONFIG_RETRY_MS = 1000;

export interface NodeLocalBalancerOptions {
  host: Host;
  listen: Upstream;
  seeds: readonly Upstream[];
  check: HealthCheck;
  /** Host path of the kubeconfig to follow the slice with; looked for every second until it loads. */
  kubeconfig?: string;
  /** Already loaded (kubestrap lb without --wait-for-kubeconfig). */
  client?: KubeClient;
  /**
   * Host path where the servers found in the slice are kept (API_SERVERS_FILE): read at start, so a
   * balancer restarted while its seed is down still reaches the others (and through them the slice).
   */
  stateFile?: string;
  log: (line: string) => void;
}

export interface NodeLocalBalancer {
  readonly lb: ApiBalancer;
  stop(): Promise<void>;
}

export async function startNodeLocalBalancer(o: NodeLocalBalancerOptions): Promise<NodeLocalBalancer> {
  const lb = new ApiBalancer({ listen: o.listen, seeds: o.seeds, check: o.check, log: o.log });
  const saved = o.stateFile ? await readSaved(o.host, o.stateFile) : [];
  if (saved.length) {
    o.log(`[lb] ${saved.length} API server(s) from ${o.host.path(o.stateFile!)}: ${saved.map(upstreamKey).join(', ')}`);
    lb.setDiscovered(saved);
  }
  await lb.start();
  o.log(`[lb] listening on ${o.listen.host}:${lb.port()}: ${lb.status().length} upstream(s), ${lb.status().filter((s) => s.healthy).length} healthy`);
  let stopped = false;
  let watch: SliceWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  const follow = (c: KubeClient): void => {
    if (stopped) return;
    o.log(`[lb] following the kubernetes EndpointSlice${o.kubeconfig ? ` with ${o.host.path(o.kubeconfig)}` : ''}`);
    let listed = '';
    watch = watchApiServerSlices<ApiEndpointSlice & { metadata?: { name?: string } }>(
      c,
      (slices) => {
        const found = upstreamsOfSlices(slices);
        const now = found.map(upstreamKey).sort().join(', ');
        const changed = now !== listed;
        if (changed) o.log(`[lb] the kubernetes EndpointSlice lists ${found.length} API server(s): ${now || 'none'}`);
        listed = now;
        lb.setDiscovered(found);
        // an empty list (every server restarting at once) is not worth keeping over the last good one
        if (o.stateFile && found.length && changed) void save(o.host, o.stateFile, found, o.log);
      },
      o.log,
    );
  };
  if (o.client) follow(o.client);
  else if (o.kubeconfig) {
    const file = o.kubeconfig;
    const retry = (): void => {
      void (async () => {
        // the kubelet writes kubelet.conf before the certificate it names: wait for both
        const loaded = await loadKubeconfig(o.host, file).catch(() => undefined);
        const c = loaded?.clientCertPem || loaded?.token ? await kubeClient(file, o.host).catch(() => undefined) : undefined;
        if (c) follow(c);
        else if (!stopped) timer = setTimeout(retry, KUBECONFIG_RETRY_MS);
      })();
    };
    retry();
  }
  return {
    lb,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      watch?.stop();
      await lb.stop();
    },
  };
}

async function readSaved(host: Host, file: string): Promise<Upstream[]> {
  try {
    const doc = JSON.parse((await host.readOptional(file))?.toString('utf8') ?? '[]') as unknown;
    return Array.isArray(doc) ? doc.filter((u): u is Upstream => typeof (u as Upstream)?.host === 'string' && Number.isInteger((u as Upstream)?.port)) : [];
  } catch {
    return []; // a torn or foreign file: the seeds and the slice will do
  }
}

async function save(host: Host, file: string, upstreams: readonly Upstream[], log: (line: string) => void): Promise<void> {
  try {
    await host.mkdir(path.posix.dirname(file), 0o755);
    await host.writeFile(file, `${JSON.stringify(upstreams.map((u) => ({ host: u.host, port: u.port })))}\n`, 0o644);
  } catch (err) {
    log(`[lb] cannot keep the API server list in ${host.path(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
