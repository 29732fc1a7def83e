/**
 * The real `kubeadm join` (the harness' build of the suite's version) on a test bed node, and a
 * stand-in for systemd that starts the kubelet the way kubeadm's unit does.
 *
 * kubeadm hard-codes /etc/kubernetes and /var/lib/kubelet: the node needs private mounts
 * (startTestbed({ privateMounts })), where those are the node's rootfs dirs. What this machine
 * needs of a kubelet (kubeletMachineSettings) goes in through kubeadm's own `--patches`
 * (target kubeletconfiguration), never into the cluster's kubelet-config.
 *
 * kubeadm cannot start the kubelet here (systemctl answers "System has not been booted with
 * systemd"): when it prints "[kubelet-start] Starting the kubelet" — the moment it runs
 * `systemctl restart kubelet` — the stand-in starts the kubelet with the command line of kubeadm's
 * drop-in (10-kubeadm.conf), and kubeadm goes on to wait for the TLS bootstrap as it would.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JoinCommand } from './cluster.js';
import { components } from './components.js';
import { kubeletMachineSettings, machinePreflightIgnores } from './kubelet.js';
import { runWithLines, type LinesResult, type Proc } from './proc.js';
import type { TestbedNode } from './testbed.js';

/**
 * kubeadm's kubelet drop-in (kubernetes/release, cmd/krel/templates/latest/kubeadm/10-kubeadm.conf):
 * ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
 */
export const KUBEADM_UNIT = {
  kubeconfigArgs: ['--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf', '--kubeconfig=/etc/kubernetes/kubelet.conf'],
  configArgs: ['--config=/var/lib/kubelet/config.yaml'],
  /** EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env, which kubeadm writes (KUBELET_KUBEADM_ARGS). */
  flagsEnvFile: '/var/lib/kubelet/kubeadm-flags.env',
} as const;

/** The line kubeadm prints where it would `systemctl restart kubelet` (phases/join/kubelet.go). */
const STARTING_KUBELET = '[kubelet-start] Starting the kubelet';

function requirePrivateNode(node: TestbedNode): string {
  if (!node.privateMounts) throw new Error(`node ${node.name}: kubeadm needs private mounts (startTestbed({ privateMounts: true }))`);
  if (!node.containerd) throw new Error(`node ${node.name}: kubeadm join needs the node's containerd (startTestbed({ containerd: true }))`);
  return node.containerd.endpoint;
}

/** KUBELET_KUBEADM_ARGS from the node's kubeadm-flags.env, split as systemd splits an unquoted $VAR. */
export async function kubeadmFlags(node: TestbedNode): Promise<string[]> {
  const file = path.join(node.rootfs, KUBEADM_UNIT.flagsEnvFile);
  const text = await readFile(file, 'utf8');
  const value = /^KUBELET_KUBEADM_ARGS="?(.*?)"?$/m.exec(text)?.[1];
  if (value === undefined) throw new Error(`${file}: no KUBELET_KUBEADM_ARGS in:\n${text}`);
  return value.split(/\s+/).filter(Boolean);
}

/**
 * What this node's /etc/default/kubelet would say (KUBELET_EXTRA_ARGS): its address, since a bed
 * node has no default route for the kubelet to find one by.
 */
export function nodeExtraArgs(node: TestbedNode): string[] {
  return [`--node-ip=${node.ip}`];
}

/** Starts the kubelet as kubeadm's systemd unit would, in the node (stopped by bed.stop()). */
export async function startKubeletUnit(node: TestbedNode, extraArgs: readonly string[] = nodeExtraArgs(node)): Promise<Proc> {
  requirePrivateNode(node);
  const args = [...KUBEADM_UNIT.kubeconfigArgs, ...KUBEADM_UNIT.configArgs, ...(await kubeadmFlags(node)), ...extraArgs];
  return node.spawn('kubelet', components().binaries.kubelet.path, args);
}

/** Writes kubeadm's `--patches` dir for the node: this machine's kubelet settings. Returns the dir. */
export async function writeKubeletPatches(node: TestbedNode): Promise<string> {
  const dir = path.join(node.dir, 'kubeadm-patches');
  await mkdir(dir, { recursive: true });
  // <target>[suffix][+<patchtype>].<ext> (kubeadm's patches package): a JSON merge patch
  await writeFile(path.join(dir, 'kubeletconfiguration+merge.json'), `${JSON.stringify(kubeletMachineSettings(node), null, 2)}\n`);
  return dir;
}

export interface KubeadmJoinOptions {
  /** More kubeadm flags after the generated ones. */
  extraArgs?: readonly string[];
  timeoutMs?: number;
  /** Called with each output line as it comes (e.g. timestamps for a bench). */
  onLine?: (line: string) => void;
}

export interface KubeadmJoinResult extends LinesResult {
  /** The kubelet the stand-in started, if kubeadm got that far. */
  kubelet: Proc | undefined;
  /** The kubeadm command line (after the launcher). */
  argv: string[];
}

/**
 * `kubeadm join <the printed command's arguments> --node-name <node> --cri-socket <node's containerd>
 * --patches <dir>` in the node; the kubelet started when kubeadm asks systemd for it. Never rejects
 * on kubeadm's failure (the code is in the result).
 */
export async function kubeadmJoin(node: TestbedNode, join: JoinCommand, options: KubeadmJoinOptions = {}): Promise<KubeadmJoinResult> {
  const criSocket = requirePrivateNode(node);
  const bins = components().binaries;
  const argv = [
    bins.kubeadm.path,
    'join',
    ...join.args,
    '--node-name',
    node.name,
    '--cri-socket',
    criSocket,
    '--patches',
    await writeKubeletPatches(node),
    ...machinePreflightIgnores().map((check) => `--ignore-preflight-errors=${check}`),
    ...(options.extraArgs ?? []),
  ];
  // kubeadm's preflight looks the kubelet up in PATH (KubeletVersion check)
  const env = { ...process.env, PATH: `${path.dirname(bins.kubelet.path)}:${process.env.PATH ?? ''}` };
  let kubelet: Promise<Proc> | undefined;
  const { code, output } = await runWithLines([...node.launcher, ...argv], {
    env,
    timeoutMs: options.timeoutMs ?? 300_000,
    onLine: (line) => {
      options.onLine?.(line);
      if (!kubelet && line.includes(STARTING_KUBELET)) kubelet = startKubeletUnit(node);
    },
  });
  return { code, output, kubelet: await kubelet, argv };
}
