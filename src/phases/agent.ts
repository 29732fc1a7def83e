/**
 * The `agent` phase (kubeadm's kubelet-start, for the built-in agent): writes the agent's config and
 * flags, picks the runtime, and makes sure exactly one agent runs for this node — through systemd on
 * a real systemd host, otherwise as a detached daemon. An agent that already runs is reused, so
 * re-running the phase is harmless.
 */
import { access } from 'node:fs/promises';
import { stringify } from 'yaml';
import { DEFAULT_TLS_CERT_FILE, DEFAULT_TLS_KEY_FILE, KUBELET_CONFIG_API_VERSION } from '../agent/config.js';
import { ensureServingCert } from '../agent/kubelet-server/serving-cert.js';
import { agentRequest } from '../agent/local-client.js';
import { AGENT_SOCKET } from '../config/defaults.js';
import type { Host } from '../host/host.js';
import {
  AGENT_PATHS,
  AGENT_UNIT_NAME,
  renderFlagsEnv,
  renderSystemdUnit,
  runningAgentPid,
  startAgentDaemon,
  tailFile,
} from '../agent/daemon.js';
import type { RuntimeKind } from '../config/types.js';
import { HostError, messageOf } from '../errors.js';
import type { InitContext } from './context.js';
import type { Phase } from './workflow.js';

const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';
const START_TIMEOUT_MS = 30_000;

interface AgentPlan {
  runtime: RuntimeKind;
  why: string;
  args: string[];
  config: string;
  useSystemd: boolean;
}

/** `--runtime` when given; otherwise cri when the CRI socket answers a Version call, else process. */
async function chooseRuntime(ctx: InitContext): Promise<{ runtime: RuntimeKind; why: string }> {
  const endpoint = ctx.config.init.nodeRegistration.criSocket;
  if (ctx.runtime) return { runtime: ctx.runtime, why: 'as --runtime says' };
  // gRPC + the CRI protos take ≈ 0.1 s of CPU to load: only when a CRI socket is to be asked
  const { CriRuntime } = await import('../agent/runtime/cri.js');
  const cri = new CriRuntime({ host: ctx.host, nodeName: ctx.config.nodeName, endpoint, requestTimeoutMs: 3000 });
  try {
    await cri.init();
    return { runtime: 'cri', why: `the CRI socket ${endpoint} answers` };
  } catch (err) {
    return { runtime: 'process', why: `no CRI runtime answers at ${endpoint}: ${/ENOENT|ECONNREFUSED/.test(messageOf(err)) ? 'no socket there' : messageOf(err).split('\n')[0]}` };
  } finally {
    await cri.close();
  }
}

async function systemdRuns(ctx: InitContext): Promise<boolean> {
  if (ctx.host.rootfs !== '/') return false; // a simulated node's agent is not a host service
  return access('/run/systemd/system').then(
    () => true,
    () => false,
  );
}

/** The agent's local socket answers /healthz (node:http: fetch's undici costs ≈ 40 ms of CPU to load). */
function agentHealthy(host: Host): Promise<boolean> {
  return agentRequest({ host }, 'GET', '/healthz', undefined, 1000).then(
    (r) => r.status === 200,
    () => false,
  );
}

async function plan(ctx: InitContext): Promise<AgentPlan> {
  const { runtime, why } = await chooseRuntime(ctx);
  const c = ctx.config;
  const args = [
    // --config is read as given (kubelet semantics), so under --rootfs it must name the real file
    `--config=${ctx.host.path(AGENT_PATHS.config)}`,
    `--kubeconfig=${KUBELET_CONF}`,
    `--node-name=${c.nodeName}`,
    `--node-ip=${c.advertiseAddress}`,
    `--runtime=${runtime}`,
    ...(runtime === 'cri' ? [`--container-runtime-endpoint=${c.init.nodeRegistration.criSocket}`] : []),
    // the kubelet API verifies client certificates against the cluster CA (kubeadm's clientCAFile)
    `--client-ca-file=${c.paths.pkiDir}/ca.crt`,
    ...(ctx.host.rootfs !== '/' ? [`--rootfs=${ctx.host.rootfs}`] : []),
  ];
  const config = stringify({
    apiVersion: KUBELET_CONFIG_API_VERSION,
    kind: 'KubeletConfiguration',
    staticPodPath: c.paths.manifestsDir,
    fileCheckFrequency: '20s',
    // kubeadm's kubelet has no read-only port; `kubestrap ps` and init use the root-only socket
    readOnlyPort: 0,
  });
  return { runtime, why, args, config, useSystemd: await systemdRuns(ctx) };
}

async function waitHealthy(ctx: InitContext, pid: number | undefined): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await agentHealthy(ctx.host)) return;
    if (pid !== undefined && !(await runningAgentPid(ctx.host))) break; // it died: no use waiting
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await tailFile(ctx.host, AGENT_PATHS.log, 20);
  throw new HostError(`the kubestrap agent did not become healthy on ${ctx.host.path(AGENT_SOCKET)} (/healthz)`, {
    hint: `see ${ctx.host.path(AGENT_PATHS.log)}${log ? `; last lines:\n${log}` : ''}`,
  });
}

async function run(ctx: InitContext): Promise<void> {
  const p = ctx.prepared.get('agent') as AgentPlan;
  ctx.out.line('agent', `Using the ${p.runtime} runtime: ${p.why}`);
  ctx.out.line('agent', `Writing agent configuration to file "${AGENT_PATHS.config}"`);
  await ctx.host.writeFile(AGENT_PATHS.config, p.config, 0o644);
  ctx.out.line('agent', `Writing agent environment file with flags to file "${AGENT_PATHS.flags}"`);
  await ctx.host.writeFile(AGENT_PATHS.flags, renderFlagsEnv(p.args), 0o644);
  if (ctx.dryRun) {
    ctx.out.line('agent', 'Would start the kubestrap agent');
    return;
  }
  // made here, where the PKI code is loaded already, rather than by the agent while the control plane starts
  const serving = await ensureServingCert({
    host: ctx.host,
    nodeName: ctx.config.nodeName,
    nodeIP: ctx.config.advertiseAddress,
    certFile: DEFAULT_TLS_CERT_FILE,
    keyFile: DEFAULT_TLS_KEY_FILE,
    caCertFile: `${ctx.config.paths.pkiDir}/ca.crt`,
    caKeyFile: `${ctx.config.paths.pkiDir}/ca.key`,
  });
  if (serving.made !== 'reused') ctx.out.line('agent', `Generating the agent's kubelet API serving certificate "${DEFAULT_TLS_CERT_FILE}" (${serving.made})`);
  if (p.useSystemd) {
    await ctx.host.writeFile(AGENT_PATHS.unit, renderSystemdUnit(p.args), 0o644);
    ctx.out.line('agent', `Starting the agent through systemd (${AGENT_UNIT_NAME})`);
    const { execa } = await import('execa'); // ≈ 0.1 s to load: only hosts with systemd pay it
    await execa('systemctl', ['daemon-reload']);
    await execa('systemctl', ['enable', AGENT_UNIT_NAME]);
    await execa('systemctl', ['restart', AGENT_UNIT_NAME]);
    await waitHealthy(ctx, undefined);
    return;
  }
  const existing = await runningAgentPid(ctx.host);
  if (existing !== undefined && (await agentHealthy(ctx.host))) {
    ctx.out.line('agent', `Using the running kubestrap agent (pid ${existing})`);
    return;
  }
  const pid = await startAgentDaemon(ctx.host, p.args);
  ctx.out.line('agent', `Started the kubestrap agent (pid ${pid}, log ${ctx.host.path(AGENT_PATHS.log)})`);
  await waitHealthy(ctx, pid);
}

export const agentPhase: Phase<InitContext> = {
  name: 'agent',
  help: 'Write the agent configuration and (re)start the kubestrap static-pod agent',
  description:
    'Writes /var/lib/kubestrap/config.yaml and the flags file, chooses the runtime (cri when a CRI socket answers, else process) and starts the agent (systemd unit when systemd runs, else a detached daemon). An agent that already runs is reused.',
  prepare: async (ctx) => {
    ctx.prepared.set('agent', await plan(ctx));
  },
  run,
};
