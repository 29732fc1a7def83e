/**
 * Joining a test bed node to a cluster, by the real kubeadm (kubeadm-join.ts) or by `kubestrap
 * join`, behind one call, so a test or bench says which and the rest is the same: the printed join
 * command's discovery, the node's name and containerd, this machine's kubelet settings
 * (kubeletMachineSettings), the harness' kubelet. `defaultJoiner()` picks kubestrap once this tree
 * has `kubestrap join` (KUBESTRAP_E2E_JOINER=kubeadm|kubestrap overrides).
 */
import path from 'node:path';
import { stringify } from 'yaml';
import { writeFile } from 'node:fs/promises';
import type { JoinCommand } from './cluster.js';
import { components } from './components.js';
import { kubestrap, REPO } from './init-e2e.js';
import { kubeadmJoin, nodeExtraArgs } from './kubeadm-join.js';
import { kubeletMachineSettings } from './kubelet.js';
import { runWithLines, type LinesResult } from './proc.js';
import type { TestbedNode } from './testbed.js';

export type Joiner = 'kubeadm' | 'kubestrap';
export const JOINER_ENV = 'KUBESTRAP_E2E_JOINER';

export interface NodeJoinOptions {
  timeoutMs?: number;
  /** Every output line as it comes. */
  onLine?: (line: string) => void;
  /** More `kubestrap join` flags (e.g. --node-local-lb); kubestrap only. */
  extraArgs?: readonly string[];
  /** The kubelet binary (default: the suite version's); kubestrap only. */
  kubeletPath?: string;
}

/**
 * The seam for `kubestrap join` (issue-12-join): the printed command's discovery and the node's
 * registration in a JoinConfiguration, with a KubeletConfiguration document carrying this
 * machine's kubelet settings (what kubeadm gets through --patches), the harness' kubelet
 * (--kubelet-path), everything under the node's rootfs.
 */
async function kubestrapJoin(node: TestbedNode, join: JoinCommand, options: NodeJoinOptions): Promise<LinesResult> {
  if (!node.containerd) throw new Error(`node ${node.name}: join needs the node's containerd (startTestbed({ containerd: true }))`);
  const config = path.join(node.dir, 'join.yaml');
  const joinConfiguration = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: join.endpoint, token: join.token, caCertHashes: join.caCertHashes } },
    nodeRegistration: {
      name: node.name,
      criSocket: node.containerd.endpoint,
      kubeletExtraArgs: nodeExtraArgs(node).map((flag) => {
        const [name, value] = flag.replace(/^--/, '').split('=');
        return { name, value };
      }),
    },
  };
  const kubelet = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', ...kubeletMachineSettings(node) };
  await writeFile(config, `${stringify(joinConfiguration)}---\n${stringify(kubelet)}`);
  const kubeletPath = options.kubeletPath ?? components().binaries.kubelet.path;
  const argv = [
    ...node.launcher,
    process.execPath,
    path.join(REPO, 'bin/kubestrap.js'),
    'join',
    '--config',
    config,
    '--rootfs',
    node.rootfs,
    '--kubelet-path',
    kubeletPath,
    ...(options.extraArgs ?? []),
  ];
  return runWithLines(argv, {
    timeoutMs: options.timeoutMs ?? 300_000,
    onLine: options.onLine,
  });
}

/** Joins `node` with `joiner`; never rejects on the join's failure (the code is in the result). */
export function joinNode(joiner: Joiner, node: TestbedNode, join: JoinCommand, options: NodeJoinOptions = {}): Promise<LinesResult> {
  if (joiner === 'kubeadm' && options.kubeletPath) throw new Error("kubeletPath: the kubeadm joiner runs the suite version's kubelet only");
  return joiner === 'kubeadm' ? kubeadmJoin(node, join, options) : kubestrapJoin(node, join, options);
}

let available: Promise<boolean> | undefined;
/** Whether this tree's CLI has `kubestrap join` (built: buildCli() first). */
export function kubestrapJoinAvailable(): Promise<boolean> {
  available ??= kubestrap(['join', '--help'], 30_000).then((help) => help.code === 0 && /--discovery-token-ca-cert-hash/.test(help.stdout));
  return available;
}

/** $KUBESTRAP_E2E_JOINER, else kubestrap when the tree has it, else kubeadm. */
export async function defaultJoiner(): Promise<Joiner> {
  const wanted = process.env[JOINER_ENV]?.trim();
  if (wanted === 'kubeadm' || wanted === 'kubestrap') return wanted;
  if (wanted) throw new Error(`${JOINER_ENV}=${wanted}: use kubeadm or kubestrap`);
  return (await kubestrapJoinAvailable()) ? 'kubestrap' : 'kubeadm';
}
