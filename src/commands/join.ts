/**
 * `kubestrap join <endpoint>` and `kubestrap join phase <path>`: both resolve the same
 * JoinConfiguration and hand it to the one workflow runner; the phase subcommands come from the
 * phase tree, as init's.
 */
import { Option, type Command } from 'commander';
import { resolveJoinConfig, type JoinFlags } from '../config/join.js';
import { Host } from '../host/host.js';
import { consolePrinter } from '../output.js';
import { JoinData } from '../phases/join/data.js';
import { JOIN_PHASES } from '../phases/join/index.js';
import { Runner, type Phase } from '../phases/runner.js';
import { printDryRun } from './dry-run.js';

export const joinRunner = new Runner<JoinData>(JOIN_PHASES);

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), ...value.split(',').filter(Boolean)];

/** kubeadm join's flags (cmd/join.go), plus kubestrap's --rootfs, --agent, --kubelet-path and --node-local-lb. */
export function addJoinFlags(cmd: Command): Command {
  return cmd
    .option(
      '--config <file>',
      "path to a kubeadm.k8s.io/v1beta4 JoinConfiguration file (a KubeletConfiguration document beside it overrides the cluster's for this node)",
    )
    .option('--token <token>', 'use this token for both discovery-token and tls-bootstrap-token when those values are not provided')
    .option('--discovery-token <token>', 'for token-based discovery, the token used to validate cluster information fetched from the API server')
    .option(
      '--discovery-token-ca-cert-hash <hash>',
      'for token-based discovery, validate that the root CA public key matches this hash (format: "sha256:<hex>"; repeatable)',
      collect,
    )
    .option('--discovery-token-unsafe-skip-ca-verification', 'for token-based discovery, allow joining without --discovery-token-ca-cert-hash pinning')
    .option('--discovery-file <file|url>', 'for file-based discovery, a file or URL from which to load cluster information')
    .option('--tls-bootstrap-token <token>', 'a token used for TLS bootstrapping (defaults to the discovery token)')
    .option('--node-name <name>', 'name of this node (default: the host name)')
    .option('--cri-socket <endpoint>', 'CRI socket to connect to')
    .option('--ignore-preflight-errors <checks>', 'comma-separated preflight checks whose errors become warnings, or "all"')
    .option('--skip-phases <phases>', 'comma-separated phases to skip')
    .option('--dry-run', 'do not change any state, just output what would be done (discovery still reads the cluster)')
    .option('--rootfs <dir>', 'put every host path (/etc/kubernetes, /var/lib/kubelet, pid and log files) under this directory')
    .option('--agent', 'run the kubestrap agent instead of the kubelet (a node for static pods only)')
    .option('--kubelet-path <file>', 'the kubelet binary (default: $KUBESTRAP_KUBELET, else kubelet on PATH)')
    .option(
      '--node-local-lb',
      'reach the API through a balancer on 127.0.0.1:7443 over every API server (the kubernetes EndpointSlice; the cluster needs init --node-local-lb)',
    )
    .option('--control-plane', 'create a new control plane instance on this node')
    .option(
      '--certificate-key <key>',
      'use this key to decrypt the certificate secrets uploaded by init (printed by `kubestrap init phase upload-certs --upload-certs`)',
    )
    .option(
      '--apiserver-advertise-address <ip>',
      "if the node should host a new control plane instance, the IP address the API server will advertise it is listening on (default: the default route's)",
    )
    .option('--apiserver-bind-port <port>', 'if the node should host a new control plane instance, the port for the API server to bind to (default 6443)')
    .addOption(
      new Option(
        '--runtime <runtime>',
        "how a control-plane node's agent runs its static pods (default: cri when the CRI socket exists, else process)",
      ).choices(['process', 'cri']),
    );
}

async function runPhases(flags: JoinFlags, endpoints: readonly string[], only?: string): Promise<void> {
  const config = resolveJoinConfig(flags, endpoints);
  const dryRun = config.join.dryRun;
  const host = new Host(flags.rootfs ?? '/', { dryRun });
  await host.checkRootfs();
  const ctx = new JoinData({ config, host, out: consolePrinter(), dryRun });
  joinRunner.checkPaths(config.skipPhases, '--skip-phases');
  await joinRunner.run(ctx, { skip: config.skipPhases, only });
  if (dryRun) printDryRun(host, ctx.out);
  else if (ctx.controlPlaneJoin && only === undefined) ctx.out.text(controlPlaneJoinedText(config.nodeName));
}

/** kubeadm's joinControlPlaneDoneTemp (the agent signs no CSR: the node has the CA's key). */
function controlPlaneJoinedText(nodeName: string): string {
  return [
    '',
    'This node has joined the cluster and a new control plane instance was created:',
    '',
    "* The kubestrap agent runs this node's control plane with a client certificate signed by the cluster CA.",
    '* Control plane label and taint were applied to the new node.',
    '* The Kubernetes control plane instances scaled up.',
    '* A new etcd member was added to the local/stacked etcd cluster.',
    '',
    'To start administering your cluster from this node, you need to run the following as a regular user:',
    '',
    '\tmkdir -p $HOME/.kube',
    '\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config',
    '\tsudo chown $(id -u):$(id -g) $HOME/.kube/config',
    '',
    `Run 'kubectl get nodes' to see this node (${nodeName}) join the cluster.`,
    '',
  ].join('\n');
}

export function registerJoin(program: Command): void {
  const join = addJoinFlags(
    program
      .command('join')
      .argument('[endpoint...]', 'the API server to join, host:port')
      .description('Run this on any machine you wish to join an existing cluster')
      .addHelpText('after', `\nThe "join" command executes the following phases:\n${joinRunner.describe()}\n`),
  ).action(async (endpoints: string[], flags: JoinFlags) => runPhases(flags, endpoints));

  const phaseCmd = join.command('phase').description('Use this command to invoke a single phase of the join workflow');
  const addPhase = (parent: Command, phase: Phase<JoinData>, path: string): void => {
    const cmd = addJoinFlags(
      parent
        .command(phase.name, { hidden: phase.hidden })
        .argument('[endpoint...]')
        .summary(phase.help)
        .description(phase.description ?? phase.help),
    );
    // `join` declares the same flags, so commander hands them to it, not to the phase: read them all
    cmd.action(async (endpoints: string[], _flags: JoinFlags, self: Command) => runPhases(self.optsWithGlobals<JoinFlags>(), endpoints, path));
    for (const child of phase.phases ?? []) addPhase(cmd, child, `${path}/${child.name}`);
  };
  for (const phase of JOIN_PHASES) addPhase(phaseCmd, phase, phase.name);
}
