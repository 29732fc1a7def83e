/**
 * The agent's public entry: everything init, reset, `ps`, `logs` and the other commands use of the
 * agent comes through here (enforced by the lint step, docs/architecture.md). The rest of
 * src/agent is the agent's own and may change shape freely. Heavy parts (the runtimes with gRPC,
 * the pod workers, the daemon's main) are loaded only when a function here asks for them.
 */
import type { Host } from '../host/host.js';
import type { LoadedKubeconfig } from '../kubeconfig/load.js';
import type { NodeLocalBalancer, NodeLocalBalancerOptions } from './api-lb.js';
import type { AgentFlags } from './config.js';
import type { ServingCert, ServingCertInput } from './kubelet-server/serving-cert.js';
import { argValue, readAgentArgs } from './daemon.js';
import type { RuntimeName } from './runtime/types.js';

export * from './annotations.js';
export { AgentClient, findPod, tailContainerLog, type SourceErrorList, type WaitOptions } from './client.js';
export { kubestrapCommand } from './daemon.js';
export { AGENT_FLAGS, DEFAULT_READ_ONLY_PORT, DEFAULT_TLS_CERT_FILE, DEFAULT_TLS_KEY_FILE, KUBELET_CONFIG_API_VERSION, type AgentFlags } from './config.js';
export { EXPIRY_WARNING_MS, expiriesFromMetrics } from './cert-expiry.js';
export { filesUsed, type RestartReport } from './restart.js';
export { newerAttemptExists, streamLog, type LogOptions } from './kubelet-server/logs.js';
export { agentJson, agentRequest, type AgentAnswer, type AgentEndpoint } from './local-client.js';
export {
  AGENT_NODE_FLAGS,
  AGENT_PATHS,
  AGENT_UNIT_NAME,
  argValue,
  readAgentArgs,
  renderFlagsEnv,
  renderSystemdUnit,
  runningAgentPid,
  startAgentDaemon,
  startDetachedKubestrap,
  stopProcess,
  tailFile,
} from './daemon.js';
export { findContainerLog, type LogQuery } from './logs/find.js';
export type { NodeLocalBalancer } from './api-lb.js';
export { readMessages } from './logs/cri-log.js';
export type { RuntimeName } from './runtime/types.js';

// The two below load their modules when called, not with this entry: `kubestrap agent` imports it,
// and a standalone agent needs neither (they bring `yaml`, the kubeconfig and certificate code).

/** The agent's serving certificate (src/agent/kubelet-server/serving-cert.ts). */
export async function ensureServingCert(input: ServingCertInput): Promise<ServingCert> {
  return (await import('./kubelet-server/serving-cert.js')).ensureServingCert(input);
}

/** The node-local API balancer (src/agent/api-lb.ts). */
export async function startNodeLocalBalancer(o: NodeLocalBalancerOptions): Promise<NodeLocalBalancer> {
  return (await import('./api-lb.js')).startNodeLocalBalancer(o);
}

/** Runs `kubestrap agent` until SIGTERM (src/agent/main.ts). */
export async function runAgent(flags: AgentFlags): Promise<void> {
  const { runAgent: run } = await import('./main.js');
  return run(flags);
}

/**
 * The kubelet's TLS bootstrap request made ahead of it (src/agent/tls/ahead.ts): resolves once its
 * key is in the cert dir (`certDir`, a host path), so the kubelet may start; then `submit()` creates
 * the request with the bootstrap `credentials`.
 */
export async function prepareKubeletCsr(host: Host, nodeName: string, certDir: string, credentials: LoadedKubeconfig): Promise<{ submit(): Promise<string> }> {
  const { prepareAheadRequest } = await import('./tls/ahead.js');
  return prepareAheadRequest(host, nodeName, certDir, credentials);
}

/**
 * Asks a CRI endpoint for its version: undefined when it answers, else a short reason (no raw gRPC
 * text). gRPC and the CRI protos (≈ 0.1 s of CPU) load only here.
 */
export async function criUnreachable(host: Host, nodeName: string, endpoint: string, timeoutMs = 3000): Promise<string | undefined> {
  const { CriRuntime } = await import('./runtime/cri.js');
  const cri = new CriRuntime({ host, nodeName, endpoint, requestTimeoutMs: timeoutMs });
  try {
    await cri.init();
    return undefined;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return /ENOENT|ECONNREFUSED/.test(msg) ? 'no socket there' : msg.split('\n')[0];
  } finally {
    await cri.close();
  }
}

/** What stopNodePods reports through its caller's printer. */
export interface StopPodsReport {
  stopping(runtime: RuntimeName, containers: number): void;
  unreachable(runtime: RuntimeName, err: unknown): void;
}

/**
 * Stops every container the agent ran for this node on the runtime its flags file names: an
 * adoption that wants no pods, the same code that adopts after a restart (so the stop order of
 * src/agent/start-order.ts applies). What reset does after stopping the agent.
 */
export async function stopNodePods(host: Host, report: StopPodsReport): Promise<void> {
  const [{ createRuntime }, { PodWorkers }, { nullLogger }] = await Promise.all([
    import('./runtime/create.js'),
    import('./workers/index.js'),
    import('./log.js'),
  ]);
  const args = (await readAgentArgs(host)) ?? [];
  const runtime: RuntimeName = argValue(args, 'runtime') === 'cri' ? 'cri' : 'process';
  const nodeName = argValue(args, 'node-name') ?? '';
  const rt = await createRuntime({ runtime, host, nodeName, endpoint: argValue(args, 'container-runtime-endpoint') });
  try {
    await rt.init();
  } catch (err) {
    report.unreachable(runtime, err);
    return;
  }
  try {
    const managed = await rt.listManaged();
    report.stopping(runtime, managed.length);
    const workers = new PodWorkers({ runtime: rt, host, nodeName, logger: nullLogger });
    await workers.adopt([]);
  } finally {
    await rt.close();
  }
}
