/**
 * `join phase kubelet-start`, as kubeadm's runKubeletStartJoinPhase: discovery (if preflight has
 * not done it), a Ready Node of the same name refused, then bootstrap-kubelet.conf, the CA,
 * instance-config.yaml, config.yaml (the kubelet-config ConfigMap + the node's own document) and
 * kubeadm-flags.env written, and the kubelet (re)started as a host service. Everything is computed
 * before the first write, so a failure leaves nothing behind.
 */
import { HostError } from '../../errors.js';
import { nodeIsReady } from '../../kube/join-cluster.js';
import { startNodeService, type NodeService } from '../node-service.js';
import type { Phase } from '../runner.js';
import { KUBELET_PATHS, MANIFESTS_DIR } from '../../constants.js';
import { agentJoinService } from '../agent-node.js';
import type { JoinData } from './data.js';
import {
  bootstrapKubeconfig,
  instanceConfigYaml,
  KUBELET_INSTANCE_CONFIG,
  kubeletConfigYaml,
  kubeletFlags,
  kubeletFlagsEnv,
  kubeletService,
} from '../kubelet-files.js';

interface Planned {
  files: [path: string, text: string, mode: number][];
  service: NodeService;
}

async function plan(ctx: JoinData): Promise<Planned> {
  const { config, host } = ctx;
  const cluster = await ctx.discovery();
  const files: Planned['files'] = [[KUBELET_PATHS.bootstrapKubeconfig, bootstrapKubeconfig(cluster, config.join.discovery.tlsBootstrapToken), 0o600]];
  if (!(await host.exists(config.join.caCertPath))) files.push([config.join.caCertPath, cluster.caPem, 0o644]);
  if (config.agent) return { files, service: agentJoinService(config, host) };
  const kubelet = await ctx.kubeletBinary();
  if (!kubelet) throw new HostError('kubelet not found in system path', { hint: 'install the kubelet, or pass --kubelet-path (or $KUBESTRAP_KUBELET)' });
  const flags = kubeletFlags(config, host, ctx.hostname());
  files.push(
    [KUBELET_INSTANCE_CONFIG, instanceConfigYaml(config), 0o644],
    [KUBELET_PATHS.config, kubeletConfigYaml(await ctx.clusterKubeletConfiguration(), config, host), 0o644],
    [KUBELET_PATHS.flagsEnv, kubeletFlagsEnv(flags), 0o644],
  );
  return { files, service: kubeletService(kubelet, host, flags) };
}

async function run(ctx: JoinData): Promise<void> {
  const { config, host, out } = ctx;
  const p = await plan(ctx);
  if (await nodeIsReady(await ctx.bootstrapCredentials(), config.nodeName, config.timeoutsMs.kubernetesAPICall)) {
    throw new HostError(`a Node with name "${config.nodeName}" and status "Ready" already exists in the cluster`, {
      field: '--node-name',
      hint: 'delete the existing Node or change the name of this new joining Node',
    });
  }
  // the kubelet watches its static pod dir; kubeadm's packages create it
  if (!config.agent) await host.mkdir(MANIFESTS_DIR, 0o755);
  for (const [file, text, mode] of p.files) {
    out.line('kubelet-start', `Writing ${file === KUBELET_PATHS.bootstrapKubeconfig ? 'the bootstrap kubeconfig' : 'file'} "${host.path(file)}"`);
    await host.writeFile(file, text, mode);
  }
  await startNodeService(host, p.service, {
    systemd: await ctx.systemd(),
    systemctl: ctx.systemctl,
    dryRun: ctx.dryRun,
    say: (m) => out.line('kubelet-start', m),
  });
}

export const kubeletStartPhase: Phase<JoinData> = {
  name: 'kubelet-start',
  help: 'Write kubelet settings, certificates and (re)start the kubelet',
  description:
    "Writes a file with KubeletConfiguration (the kubelet-config ConfigMap with the node's own KubeletConfiguration over it), an environment file with node-specific kubelet flags and the bootstrap kubeconfig, then (re)starts the kubelet (systemd unit where systemd runs, else a supervised daemon). With --agent, the kubestrap agent instead.",
  run,
};
