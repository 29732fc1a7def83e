/**
 * The phases of `kubestrap upgrade apply` and `kubestrap upgrade node`, in kubeadm's order
 * (cmd/kubeadm/app/cmd/upgrade/apply.go, node.go): preflight → control-plane → upload-config →
 * kubelet-config → bootstrap-token → addon (apply); preflight → control-plane → kubelet-config → addon
 * (node: on a control plane only, so the last control plane upgraded in an HA cluster is the one
 * that upgrades CoreDNS and kube-proxy, as kubeadm's `upgrade node` does).
 * upload-config, bootstrap-token and addon are init's phases, reused through AdminClientData.
 */
import { parse, stringify } from 'yaml';
import { addonPhase } from '../init/addon.js';
import { bootstrapTokenPhase } from '../init/bootstrap-token.js';
import { KUBELET_CONFIG_CM, uploadConfigPhase } from '../init/upload-config.js';
import { kubeletConfigYaml, KUBELET_INSTANCE_CONFIG, readNodeKubelet } from '../kubelet-files.js';
import type { Phase } from '../runner.js';
import { KUBELET_PATHS } from '../../constants.js';
import { HostError, PreflightError, messageOf } from '../../errors.js';
import { parseImage } from '../../images/binary.js';
import { withRetry } from '../../kube/retry.js';
import { probeSucceeds } from '../../net/http-probe.js';
import { readClusterState } from './cluster-state.js';
import { upgradeControlPlane } from './control-plane.js';
import type { UpgradeData } from './data.js';
import { computePlan, versionPolicies } from './plan.js';
import { backupStamp, UPGRADE_TMP_DIR } from '../static-pod-paths.js';
import { healthURL } from '../agent-waiter.js';

const P = 'upgrade/preflight';

/** This node's control plane is up: the agent answers and runs every component's pod ready and healthy. */
async function controlPlaneHealth(ctx: UpgradeData): Promise<void> {
  ctx.out.line('upgrade', 'Running cluster health checks');
  if (!(await ctx.waiter.client.healthz(3000))) {
    throw new PreflightError(`the kubestrap agent does not answer on ${ctx.host.path('/var/lib/kubestrap/agent.sock')}`, {
      hint: 'the upgrade waits on the agent for every component: start it (kubestrap init phase agent) first',
    });
  }
  const list = await ctx.waiter.client.pods();
  const bad: string[] = [];
  for (const component of ctx.components) {
    const pod = list.items.find((p) => p.metadata?.name === `${component}-${ctx.config.nodeName}`);
    const ready = (pod?.status?.containerStatuses ?? []).length > 0 && pod!.status!.containerStatuses!.every((c) => c.ready);
    const url = pod && healthURL(pod);
    if (!ready) bad.push(`${component} is not ready on this node`);
    else if (url && !(await probeSucceeds(url, 3000))) bad.push(`${component}'s health endpoint ${url.href} does not answer 200`);
  }
  if (bad.length > 0) {
    throw new PreflightError(`the control plane is not healthy: ${bad.join('; ')}`, {
      hint: 'see `kubestrap ps` and `kubestrap logs <component>`; fix it before upgrading',
    });
  }
}

const applyPreflight: Phase<UpgradeData> = {
  name: 'preflight',
  help: 'Run preflight checks before upgrade',
  run: async (ctx) => {
    const target = ctx.config.cluster.kubernetesVersion;
    ctx.out.line(P, 'Running preflight checks');
    await controlPlaneHealth(ctx);
    const client = await ctx.adminClient();
    const state = await withRetry(() => readClusterState(client, ctx.config.cluster), {
      timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall,
      what: 'reading the cluster state',
    });
    ctx.state = state;
    const { clusterVersion } = computePlan(state);
    ctx.out.line('upgrade/versions', `Cluster version: ${clusterVersion}`);
    ctx.out.line('upgrade/versions', `Target version: ${target}`);
    const skew = versionPolicies({ target, clusterVersion, kubelets: state.kubelets });
    if (skew.mandatory.length > 0) {
      throw new PreflightError(`the version skew policy forbids this upgrade: ${skew.mandatory.join('; ')}`, {
        hint: 'pick a target of `kubestrap upgrade plan`',
      });
    }
    if (skew.skippable.length > 0) {
      if (!ctx.input.force) throw new PreflightError(skew.skippable.join('; '), { hint: 'fix it first, or add --force to upgrade anyway' });
      for (const e of skew.skippable) ctx.out.warn(P, `${e} (--force: going on)`);
    }
    if (!ctx.input.yes && !ctx.dryRun) {
      const ok = ctx.input.confirm ? await ctx.input.confirm('[upgrade] Are you sure you want to proceed? [y/N]: ') : false;
      if (!ok) throw new HostError("won't proceed; the user didn't answer (Y|y) in order to continue", { hint: 'add --yes to skip the question' });
    }
  },
};

const nodePreflight: Phase<UpgradeData> = {
  name: 'preflight',
  help: 'Run upgrade node pre-flight checks',
  run: async (ctx) => {
    ctx.out.line(P, 'Running pre-flight checks');
    if (ctx.controlPlane) await controlPlaneHealth(ctx);
    else ctx.out.line(P, 'Skipping prepull. Not a control plane node.');
  },
};

const controlPlane: Phase<UpgradeData> = {
  name: 'control-plane',
  help: 'Upgrade the control plane',
  when: (ctx) => ctx.controlPlane,
  skipped: (ctx) => ctx.out.line('upgrade', 'Skipping phase. Not a control plane node.'),
  run: async (ctx) => {
    ctx.out.line('upgrade/control-plane', `Upgrading your static Pod-hosted control plane to version "${ctx.config.cluster.kubernetesVersion}"...`);
    await upgradeControlPlane(ctx);
  },
};

/**
 * kubeadm's kubelet-config phase: a node with a kubelet gets the cluster's kubelet-config ConfigMap
 * as its config.yaml (the node's own document of join's --config over it, its CRI endpoint from
 * instance-config.yaml), the old one backed up; the
 * kubelet binary and its restart are the operator's, as with kubeadm. A node running the kubestrap
 * agent has no kubelet configuration to write.
 */
const kubeletConfig: Phase<UpgradeData> = {
  name: 'kubelet-config',
  help: 'Upgrade the kubelet configuration for this node',
  run: async (ctx) => {
    const { host, out } = ctx;
    const version = ctx.config.cluster.kubernetesVersion;
    const current = await host.readOptional(KUBELET_PATHS.config);
    if (current === undefined) {
      out.line(
        'upgrade/kubelet-config',
        "This node runs the kubestrap agent, not a kubelet: no kubelet configuration to write (the agent reports the version of its node's kube-apiserver, or the newest this kubestrap knows)",
      );
      return;
    }
    const client = await ctx.adminClient();
    const cm = await withRetry(() => client.core.readNamespacedConfigMap({ name: KUBELET_CONFIG_CM, namespace: 'kube-system' }), {
      timeoutMs: ctx.config.timeoutsMs.kubernetesAPICall,
      what: `reading the ${KUBELET_CONFIG_CM} ConfigMap`,
    });
    const doc = parse(cm.data?.kubelet ?? '') as Record<string, unknown> | null;
    if (!doc)
      throw new HostError(`kube-system/${KUBELET_CONFIG_CM} has no "kubelet" key`, { hint: 'run `kubestrap upgrade apply` on a control-plane node first' });
    const instance = parse((await host.readOptional(KUBELET_INSTANCE_CONFIG))?.toString('utf8') ?? '') as { containerRuntimeEndpoint?: string } | null;
    const criSocket = instance?.containerRuntimeEndpoint ?? String(doc.containerRuntimeEndpoint ?? ctx.config.init.nodeRegistration.criSocket);
    // the node's own document of join's --config goes over the cluster's again, as at join
    const nodeKubelet = await readNodeKubelet(host);
    const next = kubeletConfigYaml(doc, { criSocket, ...(nodeKubelet ? { nodeKubelet } : {}) }, host);
    if (next === current.toString('utf8')) {
      out.line('upgrade/kubelet-config', `The kubelet configuration "${host.path(KUBELET_PATHS.config)}" is already the cluster's`);
    } else if (ctx.dryRun) {
      out.line('upgrade/kubelet-config', `Would write the cluster's kubelet configuration to "${host.path(KUBELET_PATHS.config)}":`);
      out.text(stringify(parse(next)));
    } else {
      const backup = `${ctx.config.paths.kubernetesDir}/${UPGRADE_TMP_DIR}/kubestrap-kubelet-config-${backupStamp(new Date())}/config.yaml`;
      await host.writeFile(backup, current, 0o600);
      out.line('upgrade/kubelet-config', `Backed up "${host.path(KUBELET_PATHS.config)}" to "${host.path(backup)}"`);
      await host.writeFile(KUBELET_PATHS.config, next, 0o644);
      out.line('upgrade/kubelet-config', `Wrote the cluster's kubelet configuration to "${host.path(KUBELET_PATHS.config)}"`);
    }
    out.line(
      'upgrade/kubelet-config',
      `The kubelet binary is yours, as with kubeadm: install the kubelet of ${version} on this node and restart it (e.g. "systemctl daemon-reload && systemctl restart kubelet")`,
    );
  },
};

/** kubeadm upgrades the addons only once every kube-apiserver runs the target (mirror pods' image tags). */
async function apiServersBehind(ctx: UpgradeData): Promise<string[]> {
  const client = await ctx.adminClient();
  const target = ctx.config.cluster.kubernetesVersion;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pods = await client.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'component=kube-apiserver' });
    const behind = pods.items
      .filter((p) => parseImage(p.spec?.containers[0]?.image ?? '').tag !== target)
      .map((p) => p.spec?.nodeName ?? p.metadata?.name ?? '');
    // this node's mirror pod follows the agent within a few seconds: wait for it, not for the others
    const self = behind.includes(ctx.config.nodeName);
    if (!self || Date.now() > deadline) return behind.sort();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const addons: Phase<UpgradeData> = {
  ...addonPhase,
  run: async (ctx) => {
    if (ctx.dryRun) return;
    const behind = await apiServersBehind(ctx).catch((err: unknown) => {
      throw new HostError(`cannot read the kube-apiserver mirror pods: ${messageOf(err)}`, { cause: err });
    });
    if (behind.length > 0) {
      ctx.out.line('upgrade/addon', `Skipping upgrade of addons because control plane instances [${behind.join(' ')}] have not been upgraded`);
      ctx.addonsSkipped = true;
    }
  },
  // the runner asks `when` before any phase runs: the gate is known only now, so it wraps run
  phases: addonPhase.phases!.map((p) => ({ ...p, run: async (ctx: UpgradeData, self) => (ctx.addonsSkipped ? undefined : p.run?.(ctx, self)) })),
};

export const APPLY_PHASES: readonly Phase<UpgradeData>[] = [applyPreflight, controlPlane, uploadConfigPhase, kubeletConfig, bootstrapTokenPhase, addons];
/** kubeadm's addon phase of `upgrade node`: "Not a control plane node." on a worker, else apply's gate. */
const nodeAddons: Phase<UpgradeData> = {
  ...addons,
  when: (ctx) => ctx.controlPlane,
  skipped: (ctx) => ctx.out.line('upgrade/addon', 'Skipping the addon phase. Not a control plane node.'),
};

export const NODE_PHASES: readonly Phase<UpgradeData>[] = [nodePreflight, controlPlane, kubeletConfig, nodeAddons];
