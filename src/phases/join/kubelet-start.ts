/**
 * `join phase kubelet-start`, as kubeadm's runKubeletStartJoinPhase: discovery (if preflight has
 * not done it), a Ready Node of the same name refused, then bootstrap-kubelet.conf, the CA,
 * instance-config.yaml, config.yaml (the kubelet-config ConfigMap + the node's own document) and
 * kubeadm-flags.env written, and the kubelet (re)started as a host service, while we create its
 * first certificate request for it when it will reuse it (requestAhead; not with rotateCertificates). Everything is computed
 * before the first write, so a failure leaves nothing behind.
 */
import { parse } from 'yaml';
import { HostError, messageOf } from '../../errors.js';
import { nodeIsReady } from '../../kube/join-cluster.js';
import { startNodeService, type NodeService } from '../node-service.js';
import type { Phase } from '../runner.js';
import { KUBELET_KUBECONFIG, KUBELET_PATHS, MANIFESTS_DIR, NODE_LOCAL_LB } from '../../constants.js';
import type { DiscoveredCluster } from '../../kube/join-discovery.js';
import { certificateNames } from '../../lb/server-name.js';
import { apiLbService } from '../api-lb-service.js';
import { prepareKubeletCsr } from '../../agent/index.js';
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
  nodeKubeletFile,
} from '../kubelet-files.js';

interface Planned {
  files: [path: string, text: string, mode: number][];
  /** Started first: the node-local balancer beside a kubelet. */
  before: NodeService[];
  service: NodeService;
  /** Whether the kubelet bootstraps with LoadClientCert (rotateCertificates off), the path that reuses our request. */
  reusesCsr: boolean;
}

/**
 * With rotateCertificates (kubeadm's default) the kubelet bootstraps through client-go's certificate
 * manager instead: a fresh in-memory key and a `csr-` generateName request each time, so a request
 * made ahead of it would only linger unused (cmd/kubelet/app/server.go, certificate_manager.go).
 */
function rotatesCertificates(kubeletYaml: string, flags: readonly string[]): boolean {
  const flag = flags.findLast((f) => f.startsWith('--rotate-certificates='));
  if (flag) return flag !== '--rotate-certificates=false';
  return (parse(kubeletYaml) as { rotateCertificates?: unknown } | null)?.rotateCertificates === true;
}

async function plan(ctx: JoinData): Promise<Planned> {
  const { config, host } = ctx;
  const cluster = await ctx.discovery();
  const seeds = config.nodeLocalLb ? [await nodeLocalLbSeed(cluster)] : [];
  // behind the balancer the bootstrap (and so kubelet.conf, which the kubelet derives from it) names 127.0.0.1
  const server = config.nodeLocalLb ? { ...cluster, server: NODE_LOCAL_LB.server } : cluster;
  const files: Planned['files'] = [[KUBELET_PATHS.bootstrapKubeconfig, bootstrapKubeconfig(server, config.join.discovery.tlsBootstrapToken), 0o600]];
  if (!(await host.exists(config.join.caCertPath))) files.push([config.join.caCertPath, cluster.caPem, 0o644]);
  if (config.agent) return { files, before: [], service: agentJoinService(config, host, seeds), reusesCsr: false };
  const before = seeds.length ? [apiLbService(seeds, config.join.caCertPath, host)] : [];
  const kubelet = await ctx.kubeletBinary();
  if (!kubelet) throw new HostError('kubelet not found in system path', { hint: 'install the kubelet, or pass --kubelet-path (or $KUBESTRAP_KUBELET)' });
  const flags = kubeletFlags(config, host, ctx.hostname());
  const kubeletYaml = kubeletConfigYaml(await ctx.clusterKubeletConfiguration(), config, host);
  files.push(
    [KUBELET_INSTANCE_CONFIG, instanceConfigYaml(config), 0o644],
    [KUBELET_PATHS.config, kubeletYaml, 0o644],
    [KUBELET_PATHS.flagsEnv, kubeletFlagsEnv(flags), 0o644],
  );
  if (config.nodeKubelet) files.push(nodeKubeletFile(config.nodeKubelet));
  return { files, before, service: kubeletService(kubelet, host, flags), reusesCsr: !rotatesCertificates(kubeletYaml, flags) };
}

/**
 * The balancer's seed: the server cluster-info names (controlPlaneEndpoint, else the first control
 * plane). Its certificate must name 127.0.0.1 (init --node-local-lb), checked before anything is
 * written: the kubelet keeps no tls-server-name from its bootstrap kubeconfig.
 */
async function nodeLocalLbSeed(cluster: DiscoveredCluster): Promise<string> {
  const url = new URL(cluster.server);
  const seed = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
  const named = await certificateNames(seed, cluster.caPem, NODE_LOCAL_LB.host);
  if (!named.ok) {
    throw new HostError(`--node-local-lb: the API server at ${url.host} cannot be reached as ${NODE_LOCAL_LB.server}: ${named.reason}`, {
      field: '--node-local-lb',
      hint: `init the cluster with --node-local-lb (or add ${NODE_LOCAL_LB.certSANs.join(', ')} to apiServer.certSANs and renew the apiserver certificates)`,
    });
  }
  return url.host;
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
  const ahead = p.reusesCsr && !ctx.dryRun ? await requestAhead(ctx) : undefined;
  const systemd = await ctx.systemd();
  for (const svc of p.before) {
    await startNodeService(host, svc, { systemd, systemctl: ctx.systemctl, dryRun: ctx.dryRun, say: (m) => out.line('kubelet-start', m) });
  }
  await Promise.all([
    ahead?.created ?? Promise.resolve(),
    startNodeService(host, p.service, {
      systemd,
      systemctl: ctx.systemctl,
      dryRun: ctx.dryRun,
      say: (m) => out.line('kubelet-start', m),
    }),
  ]);
}

/**
 * The kubelet's first certificate request, made by us while it starts (issue 12): its key is
 * written before it starts, so it finds the request (already approved, often signed) instead of
 * making it. Best effort: on any failure the kubelet makes the request itself, as it always could.
 * Resolves once the request is created (or given up on); the kubelet is not waited for.
 */
async function requestAhead(ctx: JoinData): Promise<{ created: Promise<void> } | undefined> {
  const say = (m: string): void => ctx.out.line('kubelet-start', m);
  const skipped = (err: unknown): undefined => {
    say(`The kubelet will request its client certificate itself (${messageOf(err)})`);
    return undefined;
  };
  // a kubelet.conf there (a re-run) may need no bootstrap: a request then would only linger
  if (await ctx.host.exists(KUBELET_KUBECONFIG)) return undefined;
  const ahead = await prepareKubeletCsr(ctx.host, ctx.config.nodeName, KUBELET_PATHS.pkiDir, await ctx.bootstrapCredentials()).catch(skipped);
  if (!ahead) return undefined;
  // wrapped: an async function's returned promise would be awaited before the kubelet starts
  return {
    created: ahead.submit().then(
      (name) => say(`Requested the kubelet's client certificate (certificate signing request ${name})`),
      (err: unknown) => void skipped(err),
    ),
  };
}

export const kubeletStartPhase: Phase<JoinData> = {
  name: 'kubelet-start',
  help: 'Write kubelet settings, certificates and (re)start the kubelet',
  description:
    "Writes a file with KubeletConfiguration (the kubelet-config ConfigMap with the node's own KubeletConfiguration over it), an environment file with node-specific kubelet flags and the bootstrap kubeconfig, then (re)starts the kubelet (systemd unit where systemd runs, else a supervised daemon). With --agent, the kubestrap agent instead.",
  run,
};
