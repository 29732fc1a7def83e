/**
 * `init phase preflight`: kubeadm's init checks that apply to a kubestrap node
 * (cmd/kubeadm/app/preflight/checks.go). Check names are kubeadm's, because they are what
 * `--ignore-preflight-errors` matches (case-insensitively; `all` ignores every check). Every failure
 * is collected and reported together, like kubeadm, before the phase fails.
 */
import os from 'node:os';
import path from 'node:path';
import { resolveBinary } from '../../images/binary.js';
import type { RuntimeKind } from '../../config/types.js';
import { PORTS } from '../../constants.js';
import { containerdSupportWarning } from '../../cri/runtime-version.js';
import type { VersionResponse } from '../../cri/types.js';
import type { RuntimeData } from '../data.js';
import { criSocketPath, socketExists } from '../runtime-choice.js';
import type { Phase } from '../runner.js';
import { dirAvailableCheck, fileAvailableCheck, portCheck, privilegedUserCheck, report, runChecks, type PreflightCheck } from '../preflight-checks.js';

export { runChecks, privilegedUserCheck, type CheckFindings, type PreflightCheck, type PreflightResult } from '../preflight-checks.js';

const MIN_CPUS = 2;
const MIN_MEMORY_MB = 1700;

/** What the checks read about the machine; tests pass their own. */
export interface PreflightFacts {
  uid(): number;
  cpus(): number;
  /** Total memory in MB (kubeadm: sysinfo totalram). */
  memoryMB(): number;
  /** PATH for the binaries of the process runtime. */
  path(): string;
  /** The CRI runtime's Version answer at `endpoint`; undefined when nothing answers. */
  criVersion(endpoint: string): Promise<RuntimeVersion | undefined>;
}

export type RuntimeVersion = Pick<VersionResponse, 'runtimeName' | 'runtimeVersion'>;

/** One CRI Version call; gRPC and the CRI protos (≈ 0.1 s of CPU) load only when a cri runtime is checked. */
async function askCriVersion(endpoint: string): Promise<RuntimeVersion | undefined> {
  const { criClient } = await import('../../cri/client.js');
  let client;
  try {
    client = criClient(endpoint, { timeoutMs: 3000 });
    return await client.runtime.version({ version: '0.1.0' });
  } catch {
    return undefined; // the CRI check and the agent phase say what is wrong with the socket
  } finally {
    client?.close();
  }
}

export const systemFacts: PreflightFacts = {
  uid: () => process.getuid?.() ?? 0,
  cpus: () => os.availableParallelism(),
  memoryMB: () => Math.floor(os.totalmem() / 1024 / 1024),
  path: () => process.env.PATH ?? '',
  criVersion: askCriVersion,
};

/** The runtime the agent will use (decided once per run: phases/runtime-choice.ts). */
export async function chooseRuntime(ctx: RuntimeData): Promise<RuntimeKind> {
  return (await ctx.runtime()).kind;
}

/** What the chosen runtime needs: a CRI socket, or the control-plane binaries for the process runtime. */
async function runtimeChecks(ctx: RuntimeData, facts: PreflightFacts): Promise<PreflightCheck[]> {
  const { config, host } = ctx;
  if ((await chooseRuntime(ctx)) === 'cri') {
    const endpoint = config.init.nodeRegistration.criSocket;
    const socket = criSocketPath(endpoint);
    return [
      {
        name: 'CRI',
        check: async () => ((await socketExists(socket)) ? [] : [`container runtime is not running: ${socket} does not exist`]),
      },
      {
        // kubeadm's check of the same name warns about runtimes the next kubelet drops
        name: 'ContainerRuntimeVersion',
        check: async () => {
          const version = (await socketExists(socket)) ? await facts.criVersion(endpoint) : undefined;
          const warning = version && containerdSupportWarning(version);
          return { warnings: warning ? [warning] : [], errors: [] };
        },
      },
    ];
  }
  const binaries: [string, string][] = [
    ['kube-apiserver', config.images.kubeApiserver],
    ['kube-controller-manager', config.images.kubeControllerManager],
    ['kube-scheduler', config.images.kubeScheduler],
  ];
  if (config.cluster.etcd.local && !config.cluster.etcd.external) binaries.unshift(['etcd', config.images.etcd]);
  return binaries.map(([binary, image]) => ({
    name: `FileExisting-${binary}`,
    check: async () =>
      (await resolveBinary(host, image, binary, facts.path()))
        ? []
        : [`${binary} not found in ${host.path('/var/lib/kubestrap/images')}/<repository>/<tag> for ${image} or in the system path`],
  }));
}

/** kubeadm's init checks, in its order, for this configuration. */
export async function initChecks(ctx: RuntimeData, facts: PreflightFacts = systemFacts): Promise<PreflightCheck[]> {
  const { config, host } = ctx;
  const manifest = (component: string): string => path.posix.join(config.paths.manifestsDir, `${component}.yaml`);
  const checks: PreflightCheck[] = [
    {
      name: 'NumCPU',
      check: async () => {
        const n = facts.cpus();
        return n < MIN_CPUS ? [`the number of available CPUs ${n} is less than the required ${MIN_CPUS}`] : [];
      },
    },
    {
      name: 'Mem',
      check: async () => {
        const mb = facts.memoryMB();
        return mb < MIN_MEMORY_MB ? [`the system RAM (${mb} MB) is less than the minimum ${MIN_MEMORY_MB} MB`] : [];
      },
    },
    portCheck(config.bindPort),
    portCheck(PORTS.scheduler),
    portCheck(PORTS.controllerManager),
    ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((c) => fileAvailableCheck(host, manifest(c))),
    ...(await runtimeChecks(ctx, facts)),
  ];
  const local = config.cluster.etcd.local;
  if (local && !config.cluster.etcd.external) {
    checks.push(portCheck(PORTS.etcdClient), portCheck(PORTS.etcdPeer), dirAvailableCheck(host, local.dataDir));
  }
  return checks;
}

/** The whole preflight: the root check alone first (as kubeadm), then every init check. */
export async function runPreflight(ctx: RuntimeData, facts: PreflightFacts = systemFacts): Promise<void> {
  const ignore = ctx.config.ignorePreflightErrors;
  report(ctx, await runChecks([privilegedUserCheck(facts)], ignore));
  ctx.out.line('preflight', 'Running pre-flight checks');
  report(ctx, await runChecks(await initChecks(ctx, facts), ignore));
}

export const preflightPhase: Phase<RuntimeData> = {
  name: 'preflight',
  help: 'Run pre-flight checks',
  run: (ctx) => runPreflight(ctx),
};
