/**
 * `kubestrap agent`'s main: configuration → runtime → pod workers → (with a kubeconfig) the API side
 * → the component manager, run until SIGTERM. The command module only registers the flags.
 */
import { readFile } from 'node:fs/promises';
import { Agent, runUntilSignal } from './agent.js';
import { createMirrorSync, nodeIP } from './api-sync.js';
import { resolveAgentConfig, type AgentFlags } from './config.js';
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
          });
  const kubeletApi = async (a: Agent) => (await import('./kubelet-server/index.js')).startKubeletApi(config, a, ip, logger);
  const agent = new Agent({ config, runtime, workers, logger, apiSync, kubeletApi });
  await runUntilSignal(agent, logger);
  // Pods (when left running) are not our children to wait for; nothing else should keep us alive.
  process.exit(0);
}
