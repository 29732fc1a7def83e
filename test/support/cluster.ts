/**
 * A kubestrap control plane on a test bed node: `kubestrap init` runs in the node's network
 * namespace with the node's rootfs and bed address (kube-apiserver v1.37 refuses a loopback
 * advertise address), the bed's pod network as `--pod-network-cidr`, and the suite's version. The
 * host reaches the API server over the bed's bridge, so kubectl runs here with the admin kubeconfig.
 *
 * `startCluster()` brings up the bed and the control plane together; `cluster.stop()` runs
 * `kubestrap reset` in the node (and kills/unmounts whatever survived it), then the bed's stop —
 * also when init failed half way. The bed's exit hook kills what runs in its namespaces if a test
 * never reaches stop().
 */
import { readFile } from 'node:fs/promises';
import type { V1Node } from '@kubernetes/client-node';
import path from 'node:path';
import { components, componentsOf, componentsReady, suiteRelease } from './components.js';
import { stageImageBinaries } from './image-binaries.js';
import { buildCli, forceCleanup, httpsGet, kubectl, kubectlJson, kubestrap, type CliResult } from './init-e2e.js';
import { waitFor } from './proc.js';
import { POD_NETWORK, startTestbed, type Testbed, type TestbedNode, type TestbedOptions } from './testbed.js';

export type ControlPlaneRuntime = 'process' | 'cri';

/** The worker join command init printed, taken apart. */
export interface JoinCommand {
  /** host:port of the API server. */
  endpoint: string;
  token: string;
  /** `sha256:<hex>` pins, in order. */
  caCertHashes: string[];
  /** The arguments after `join` (`<endpoint> --token ... --discovery-token-ca-cert-hash ...`), for kubeadm or kubestrap. */
  args: string[];
}

/** The last `kubestrap join` command in init's output (the worker one; a control-plane one comes first). */
export function parseJoinCommand(initStdout: string): JoinCommand {
  const commands = [...initStdout.matchAll(/^\s*kubestrap join ((?:.*\\\n)*.*)$/gm)].map((m) => m[1]!.replace(/\\\n/g, ' '));
  const worker = commands.filter((c) => !/--control-plane/.test(c)).pop();
  if (!worker) throw new Error(`init printed no worker join command:\n${initStdout}`);
  const args = worker.split(/\s+/).filter(Boolean);
  const flag = (name: string): string[] => args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]!] : []));
  const token = flag('--token')[0];
  const caCertHashes = flag('--discovery-token-ca-cert-hash');
  if (!args[0] || !token || caCertHashes.length === 0) throw new Error(`cannot read endpoint, token and CA hash from: kubestrap join ${worker}`);
  return { endpoint: args[0], token, caCertHashes, args };
}

export interface ControlPlane {
  readonly node: TestbedNode;
  /** The node's rootfs (init's --rootfs). */
  readonly rootfs: string;
  /** admin.conf, a host path (its server is the node's bed address). */
  readonly adminConf: string;
  readonly initStdout: string;
  readonly join: JoinCommand;
  /** kubectl with admin.conf, from the host; rejects with kubectl's stderr. */
  kubectl(args: readonly string[]): Promise<string>;
  kubectlJson<T>(args: readonly string[]): Promise<T>;
  /** Runs kubestrap in the control-plane node's network namespace. */
  kubestrap(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  /**
   * Waits until cluster-info carries the JWS for the join token (the controller-manager's
   * bootstrap signer adds it some seconds after init): from then on a join's discovery need not
   * wait. Returns the ms waited.
   */
  waitForJoinToken(timeoutMs?: number): Promise<number>;
}

export interface InitControlPlaneOptions {
  /** How the agent runs the control plane: its process runtime (default) or the node's containerd. */
  runtime?: ControlPlaneRuntime;
  /** More init flags (after the generated ones). */
  extraArgs?: readonly string[];
  /** The Kubernetes version to init at (a prepared row, e.g. an upgrade's start; default: the suite's). */
  version?: string;
}

/** The node's address, name, the bed's pod network and the version (the suite's): init's flags kubeadm takes too. */
export function nodeInitFlags(node: TestbedNode, version = suiteRelease().version): string[] {
  return ['--apiserver-advertise-address', node.ip, '--node-name', node.name, '--pod-network-cidr', POD_NETWORK, '--kubernetes-version', version];
}

/** init's flags for `node` (before `extraArgs`). */
export function initArgs(node: TestbedNode, runtime: ControlPlaneRuntime, version?: string): string[] {
  const runtimeArgs = runtime === 'cri' ? ['--runtime', 'cri', '--cri-socket', criEndpoint(node)] : ['--runtime', 'process'];
  return ['init', '--rootfs', node.rootfs, ...runtimeArgs, ...nodeInitFlags(node, version)];
}

function criEndpoint(node: TestbedNode): string {
  if (!node.containerd) throw new Error(`node ${node.name}: --runtime cri needs the node's containerd (startTestbed({ containerd: true }))`);
  return node.containerd.endpoint;
}

/**
 * `kubestrap reset` in the node, then whatever survived it (agent, marked processes, mounts) is
 * killed or unmounted and the rootfs removed. Returns notes on what had to be forced.
 */
export function resetControlPlane(node: TestbedNode): Promise<string[]> {
  return forceCleanup(node.rootfs, [], node.launcher);
}

/** Runs `kubestrap init` on `node`; on failure resets the node and throws with init's output. */
export async function initControlPlane(node: TestbedNode, options: InitControlPlaneOptions = {}): Promise<ControlPlane> {
  await buildCli();
  const runtime = options.runtime ?? 'process';
  if (runtime === 'process') await stageImageBinaries(node.rootfs, options.version ? componentsOf(options.version) : components());
  const run = (args: readonly string[], timeoutMs?: number): Promise<CliResult> => kubestrap(args, timeoutMs, node.launcher);
  const init = await run([...initArgs(node, runtime, options.version), ...(options.extraArgs ?? [])]);
  if (init.code !== 0) {
    const notes = await resetControlPlane(node);
    const agentLog = await readFile(path.join(node.rootfs, 'var/log/kubestrap-agent.log'), 'utf8').catch(() => '');
    throw new Error(
      `kubestrap init on ${node.name} exited ${init.code}:\n${init.stderr}\n${init.stdout}` +
        (agentLog ? `\nagent log (last lines):\n${agentLog.split('\n').slice(-30).join('\n')}` : '') +
        (notes.length ? `\ncleanup: ${notes.join('; ')}` : ''),
    );
  }
  const adminConf = path.join(node.rootfs, 'etc/kubernetes/admin.conf');
  const join = parseJoinCommand(init.stdout);
  return {
    node,
    rootfs: node.rootfs,
    adminConf,
    initStdout: init.stdout,
    join,
    kubectl: (args) => kubectl(adminConf, args),
    kubectlJson: <T>(args: readonly string[]) => kubectlJson<T>(adminConf, args),
    kubestrap: run,
    async waitForJoinToken(timeoutMs = 120_000) {
      const t0 = performance.now();
      const key = `jws-kubeconfig-${join.token.split('.')[0]}`;
      await waitFor(
        `cluster-info to carry ${key}`,
        async () => {
          const res = await httpsGet(`https://${join.endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info`);
          return res.status === 200 && (JSON.parse(res.body) as { data?: Record<string, string> }).data?.[key] ? true : undefined;
        },
        timeoutMs,
        100,
      );
      return performance.now() - t0;
    },
  };
}

export interface ClusterOptions extends Omit<TestbedOptions, 'nodes'>, InitControlPlaneOptions {
  /** The control-plane node's name (default `cp1`), the bed's first node. */
  controlPlane?: string;
  /** The other nodes (workers), e.g. ['w1', 'w2']. */
  workers?: readonly string[];
  /** Runs once the bed is up, before init (e.g. the load balancer that --control-plane-endpoint names). */
  beforeInit?: (bed: Testbed) => Promise<void>;
}

export interface Cluster {
  readonly bed: Testbed;
  readonly cp: ControlPlane;
  /** Every worker node of the bed (not joined: a test joins them its own way). */
  readonly workers: readonly TestbedNode[];
  /** reset on the control plane, then the bed's stop (processes, containerds, mounts, links, namespaces, dirs). */
  stop(): Promise<string[]>;
}

/** A test bed with a control plane initialized on its first node. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cpName = options.controlPlane ?? 'cp1';
  const workers = options.workers ?? [];
  const bed = await startTestbed({ ...options, nodes: [cpName, ...workers] });
  const cpNode = bed.node(cpName);
  let cp: ControlPlane;
  try {
    await options.beforeInit?.(bed);
    cp = await initControlPlane(cpNode, options);
  } catch (err) {
    await bed.stop();
    throw err;
  }
  let stopped: Promise<string[]> | undefined;
  return {
    bed,
    cp,
    workers: workers.map((w) => bed.node(w)),
    stop() {
      stopped ??= (async () => {
        try {
          return await resetControlPlane(cpNode);
        } finally {
          await bed.stop();
        }
      })();
      return stopped;
    },
  };
}

/** Waits for the Node to be Ready (as kubectl sees it with admin.conf) and returns it. */
export function waitNodeReady(cp: ControlPlane, name: string, timeoutMs = 120_000, intervalMs = 250): Promise<V1Node> {
  return waitFor(
    `${name} Ready`,
    async () => {
      const n = await cp.kubectlJson<V1Node>(['get', 'node', name]).catch(() => undefined);
      return n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    },
    timeoutMs,
    intervalMs,
  );
}

/** Why a cluster test must be skipped here, or false. */
export function clusterSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, fixed ports in the node)';
  if (!componentsReady()) return 'components not prepared: npm run prepare:components';
  return false;
}
