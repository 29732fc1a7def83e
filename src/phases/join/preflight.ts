/**
 * `join phase preflight`: kubeadm's RunJoinNodeChecks for a worker (cmd/kubeadm/app/preflight),
 * with kubeadm's check names for --ignore-preflight-errors: root first and alone, then the files a
 * joined node has (so a second join stops here), the CRI socket, swap, port 10250, the kubelet
 * binary, and then — once the local checks pass, since it needs discovery — the kubelet's version
 * against the control plane's (at most 3 minors older, never newer: the kubelet skew policy).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { KUBECONFIG_FILES, KUBERNETES_DIR, PORTS } from '../../constants.js';
import { controlPlaneSkewError, KUBEADM_CONFIG_SOURCE, NO_CONTROL_PLANE_ENDPOINT } from '../../config/join-control-plane.js';
import { HostError, messageOf } from '../../errors.js';
import { CONTROL_PLANE_COMPONENTS } from '../../manifests/index.js';
import { requireSharedCerts } from '../copycerts.js';
import { dirAvailableCheck, fileAvailableCheck, portCheck, privilegedUserCheck, report, runChecks, type PreflightCheck } from '../preflight-checks.js';
import type { Phase } from '../runner.js';
import { criSocketPath, socketExists } from '../runtime-choice.js';
import type { ControlPlaneJoinData, JoinData } from './data.js';

const CONTROL_PLANE_MANIFESTS = [...CONTROL_PLANE_COMPONENTS, 'etcd'] as const;

/** kubelet minors older than the control plane it may run against (version skew policy). */
export const KUBELET_MAX_MINORS_OLDER = 3;

/** What the checks read about the machine; tests pass their own. */
export interface JoinFacts {
  uid(): number;
  /** /proc/swaps entries after its header. */
  swaps(): Promise<string[]>;
  /** `kubelet --version` output, e.g. "Kubernetes v1.37.2". */
  kubeletVersion(binary: string): Promise<string>;
}

export const joinSystemFacts: JoinFacts = {
  uid: () => process.getuid?.() ?? 0,
  swaps: async () =>
    (await readFile('/proc/swaps', 'utf8').catch(() => ''))
      .split('\n')
      .slice(1)
      .filter((l) => l.trim()),
  kubeletVersion: async (binary) => (await promisify(execFile)(binary, ['--version'], { timeout: 10_000 })).stdout.trim(),
};

const minorVersion = (v: string): { major: number; minor: number } | undefined => {
  const m = /v?(\d+)\.(\d+)\.\d+/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
};

/** The version-skew rule alone (pure): undefined when fine, else the error. */
export function kubeletSkewError(kubelet: string, controlPlane: string): string | undefined {
  const k = minorVersion(kubelet);
  const cp = minorVersion(controlPlane);
  if (!k) return `couldn't parse the kubelet version from "${kubelet}"`;
  if (!cp) return `couldn't parse the control plane version "${controlPlane}"`;
  if (k.major > cp.major || (k.major === cp.major && k.minor > cp.minor)) {
    return `the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: "${kubelet}" Control plane version: "${controlPlane}"`;
  }
  if (k.major < cp.major || cp.minor - k.minor > KUBELET_MAX_MINORS_OLDER) {
    return `Kubelet version "${kubelet}" is more than ${KUBELET_MAX_MINORS_OLDER} minor versions older than the control plane ("${controlPlane}"). Please upgrade kubelet`;
  }
  return undefined;
}

/** The checks that need nothing but this host. */
export async function localJoinChecks(ctx: JoinData, facts: JoinFacts): Promise<PreflightCheck[]> {
  const { host, config } = ctx;
  const checks: PreflightCheck[] = [
    fileAvailableCheck(host, `${KUBERNETES_DIR}/${KUBECONFIG_FILES.kubelet}`),
    fileAvailableCheck(host, `${KUBERNETES_DIR}/${KUBECONFIG_FILES.bootstrapKubelet}`),
  ];
  if (runsKubelet(ctx)) {
    const socket = criSocketPath(config.criSocket);
    checks.push({ name: 'CRI', check: async () => ((await socketExists(socket)) ? [] : [`container runtime is not running: ${socket} does not exist`]) });
  }
  checks.push(
    {
      // kubeadm warns: a kubelet configured for swap (failSwapOn: false) runs with it
      name: 'Swap',
      check: async () => ({
        warnings: (await facts.swaps()).length ? ['swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap'] : [],
        errors: [],
      }),
    },
    portCheck(PORTS.kubeletApi),
    fileAvailableCheck(host, config.join.caCertPath),
  );
  if (runsKubelet(ctx)) {
    checks.push({
      name: 'FileExisting-kubelet',
      check: async () => ((await ctx.kubeletBinary()) ? [] : ['kubelet not found in system path (pass --kubelet-path or set $KUBESTRAP_KUBELET)']),
    });
  }
  return checks;
}

/** kubeadm's KubeletVersionCheck, against the control plane this node joins. */
export function kubeletVersionCheck(ctx: JoinData, facts: JoinFacts): PreflightCheck {
  return {
    name: 'KubeletVersion',
    check: async () => {
      const binary = await ctx.kubeletBinary();
      if (!binary) return ['kubelet not found'];
      let version: string;
      try {
        version = (await facts.kubeletVersion(binary)).replace(/^Kubernetes\s+/, '');
      } catch (err) {
        return [`couldn't get kubelet version: ${messageOf(err)}`];
      }
      const problem = kubeletSkewError(version, await ctx.controlPlaneVersion());
      return problem ? [problem] : [];
    },
  };
}

/** A control-plane node runs the agent, not a kubelet: no kubelet binary, version or CRI checks for it. */
const runsKubelet = (ctx: JoinData): boolean => !ctx.config.agent && !ctx.controlPlaneJoin;

/**
 * kubeadm's checkIfReadyForAdditionalControlPlane, as one line: the cluster must have a stable
 * controlPlaneEndpoint, and without a certificate key the shared certificates must be in place.
 */
async function readyForAnotherControlPlane(cp: ControlPlaneJoinData): Promise<void> {
  const notReady = 'One or more conditions for hosting a new control plane instance is not satisfied';
  if (!cp.config.cluster.controlPlaneEndpoint) {
    throw new HostError(`${notReady}: ${NO_CONTROL_PLANE_ENDPOINT}`, {
      file: KUBEADM_CONFIG_SOURCE,
      field: 'controlPlaneEndpoint',
      hint: 'a cluster for several control planes is made with `kubestrap init --control-plane-endpoint <load balancer or stable address>`; the API server certificates must name it too',
    });
  }
  if (!cp.certificateKey()) await requireSharedCerts(cp.host, cp.sharedCertsPlace());
}

/** kubeadm's InitNodeChecks for a secondary control plane: its ports free, no manifests, an empty etcd data dir. */
export function controlPlaneJoinChecks(cp: ControlPlaneJoinData): PreflightCheck[] {
  const { config, host } = cp;
  const checks = [portCheck(config.bindPort), portCheck(PORTS.scheduler), portCheck(PORTS.controllerManager)];
  checks.push(...CONTROL_PLANE_MANIFESTS.map((c) => fileAvailableCheck(host, `${config.paths.manifestsDir}/${c}.yaml`)));
  const local = config.cluster.etcd.local;
  if (local) checks.push(portCheck(PORTS.etcdClient), portCheck(PORTS.etcdPeer), dirAvailableCheck(host, local.dataDir));
  return checks;
}

/** The version skew of a new control-plane instance against the cluster it joins. */
function controlPlaneVersionCheck(ctx: JoinData, cp: ControlPlaneJoinData): PreflightCheck {
  return {
    name: 'ControlPlaneVersion',
    check: async () => {
      const serving = await ctx.servingVersion().catch(() => undefined);
      const problem = controlPlaneSkewError(cp.config.cluster.kubernetesVersion, serving);
      return problem ? [problem] : [];
    },
  };
}

export async function runJoinPreflight(ctx: JoinData, facts: JoinFacts = joinSystemFacts): Promise<void> {
  const ignore = ctx.config.ignorePreflightErrors;
  report(ctx, await runChecks([privilegedUserCheck(facts)], ignore));
  ctx.out.line('preflight', 'Running pre-flight checks');
  report(ctx, await runChecks(await localJoinChecks(ctx, facts), ignore));
  if (runsKubelet(ctx)) report(ctx, await runChecks([kubeletVersionCheck(ctx, facts)], ignore));
  if (!ctx.controlPlaneJoin) return;
  const cp = await ctx.controlPlane();
  await readyForAnotherControlPlane(cp);
  ctx.out.line('preflight', 'Running pre-flight checks before initializing the new control plane instance');
  report(ctx, await runChecks([...controlPlaneJoinChecks(cp), controlPlaneVersionCheck(ctx, cp)], ignore));
}

export const joinPreflightPhase: Phase<JoinData> = {
  name: 'preflight',
  help: 'Run join pre-flight checks',
  run: (ctx) => runJoinPreflight(ctx),
};
