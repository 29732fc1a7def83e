/**
 * `kubestrap agent`'s main: configuration → runtime → pod workers → (with a kubeconfig) the API side
 * → the component manager, run until SIGTERM. The command module only registers the flags.
 */
import { readFile } from 'node:fs/promises';
import { API_SERVERS_FILE, NODE_LOCAL_LB } from '../constants.js';
import { Agent, runUntilSignal } from './agent.js';
import { createMirrorSync, nodeIP } from './api-sync.js';
import { DEFAULT_CERT_DIR, DEFAULT_CLIENT_CA_FILE, resolveAgentConfig, type AgentConfig, type AgentFlags } from './config.js';
import type { Logger } from './log.js';
import type { NodeCredentials } from './tls/index.js';
import { createLogger } from './log.js';
import { createRuntime } from './runtime/create.js';
import { PodWorkers } from './workers/index.js';

export async function runAgent(flags: AgentFlags): Promise<void> {
  const config = await resolveAgentConfig(flags, (p) => readFile(p, 'utf8'));
  await config.host.checkRootfs();
  const logger = createLogger();
  const ip = await nodeIP(config);
  const runtime = await createRuntime({ runtime: config.runtime, host: config.host, nodeName: config.nodeName, endpoint: config.containerRuntimeEndpoint });
  const workers = new PodWorkers({ runtime, host: config.host, nodeName: config.nodeName, nodeIP: ip, stateDir: config.stateDir, logger });
  const kubeconfig = config.kubeconfig;
  // before the TLS bootstrap: it goes through the balancer when the bootstrap kubeconfig names 127.0.0.1
  await startApiBalancer(config, logger);
  const credentials = await nodeCredentials(config, logger);
  const apiSync =
    kubeconfig === undefined
      ? undefined
      : (a: Agent) =>
          createMirrorSync({
            config: { ...config, kubeconfig },
            logger,
            nodeIP: ip,
            desired: () => a.desired(),
            states: () => workers.states(),
            onChange: (cb) => workers.onChange(cb),
            sourcesReady: () => a.sourcesReady(),
            credentials,
          });
  const startKubeletApi = async (a: Agent) => (await import('./kubelet-server/index.js')).startKubeletApi(config, a, ip, logger, credentials);
  // a bootstrapping node's kubelet API needs kubelet.conf (its SubjectAccessReviews): started once it is written
  const kubeletApi = credentials ? (a: Agent) => Promise.resolve(afterCredentials(credentials, () => startKubeletApi(a), logger)) : startKubeletApi;
  const agent = new Agent({ config, runtime, workers, logger, apiSync, kubeletApi });
  await runUntilSignal(agent, logger);
  // Pods (when left running) are not our children to wait for; nothing else should keep us alive.
  process.exit(0);
}

/** With --api-lb-seed: the node-local API balancer on 127.0.0.1:7443, /readyz checked with the cluster CA, for as long as the agent runs. */
async function startApiBalancer(config: AgentConfig, logger: Logger): Promise<void> {
  if (!config.apiLbSeeds?.length) return;
  const [{ startNodeLocalBalancer }, { readyzCheck }] = await Promise.all([import('./api-lb.js'), import('../lb/balancer.js')]);
  await startNodeLocalBalancer({
    host: config.host,
    listen: { host: NODE_LOCAL_LB.host, port: NODE_LOCAL_LB.port },
    seeds: config.apiLbSeeds,
    check: readyzCheck(await config.host.readText(config.clientCAFile ?? DEFAULT_CLIENT_CA_FILE)),
    kubeconfig: config.kubeconfig,
    stateFile: API_SERVERS_FILE,
    log: (line) => logger.info(line),
  });
}

/** With --bootstrap-kubeconfig: the TLS bootstrap (checked now, run in the background) and rotation. */
async function nodeCredentials(config: AgentConfig, logger: Logger): Promise<NodeCredentials | undefined> {
  if (config.bootstrapKubeconfig === undefined || config.kubeconfig === undefined) return undefined;
  const { NodeCredentials, kubeconfigProblem, loadBootstrapKubeconfig } = await import('./tls/index.js');
  // bad input is one line before anything starts, not a retry loop in the log
  if ((await kubeconfigProblem(config.host, config.kubeconfig)) !== undefined) await loadBootstrapKubeconfig(config.host, config.bootstrapKubeconfig);
  const credentials = new NodeCredentials({
    host: config.host,
    nodeName: config.nodeName,
    kubeconfig: config.kubeconfig,
    bootstrapKubeconfig: config.bootstrapKubeconfig,
    certDir: config.certDir ?? DEFAULT_CERT_DIR,
    logger,
  });
  credentials.start();
  return credentials;
}

/** Starts `start` once the credentials are ready; the handle closes whatever has started by then. */
function afterCredentials(credentials: NodeCredentials, start: () => Promise<Closable | undefined>, logger: Logger): Closable {
  let closed = false;
  let handle: Closable | undefined;
  credentials.ready
    .then(async () => {
      if (closed) return;
      handle = await start();
      if (closed) await handle?.close();
    })
    .catch((err: unknown) => logger.error('the kubelet API did not start', { error: (err as Error).message }));
  return {
    close: async () => {
      closed = true;
      await handle?.close();
    },
  };
}

interface Closable {
  close(): Promise<void>;
}
