/**
 * The real `kubeadm init` (the harness' build of the suite's version) with the real kubelet, on a
 * test bed node with private mounts: kubeadm hard-codes /etc/kubernetes, /var/lib/kubelet and
 * /var/lib/etcd, which are the node's rootfs dirs there (NODE_PRIVATE_DIRS), so the host's stay
 * untouched. The node's own containerd holds the images `kubeadm config images list` names (the
 * harness builds them under those names), so kubeadm's ImagePull preflight pulls nothing.
 *
 * systemd is not PID 1 here: when kubeadm prints "[kubelet-start] Starting the kubelet" (where it
 * runs `systemctl restart kubelet`) the stand-in starts the kubelet with the command line of
 * kubeadm's drop-in (test/support/kubeadm-join.ts), and kubeadm goes on to wait for it as it would.
 * What this machine needs of a kubelet goes in through kubeadm's own `--patches`; the only
 * preflight error ignored is the one this machine forces (machinePreflightIgnores: cgroup v1).
 *
 * kubeadm refuses a loopback advertise address, so it (and, for the comparison, kubestrap) uses
 * the node's bed address.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { nodeInitFlags } from '../../test/support/cluster.js';
import { components } from '../../test/support/components.js';
import { startKubeletUnit, writeKubeletPatches } from '../../test/support/kubeadm-join.js';
import { machinePreflightIgnores } from '../../test/support/kubelet.js';
import { runWithLines, type LinesResult, type Proc } from '../../test/support/proc.js';
import type { TestbedNode } from '../../test/support/testbed.js';

/** The line kubeadm prints where it would `systemctl restart kubelet` (phases/init/kubelet.go). */
const STARTING_KUBELET = '[kubelet-start] Starting the kubelet';

/** kubeadm needs the kubelet in PATH (preflight's KubeletVersion check). */
function kubeadmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${path.dirname(components().binaries.kubelet.path)}:${process.env.PATH ?? ''}` };
}

function criSocket(node: TestbedNode): string {
  if (!node.privateMounts) throw new Error(`node ${node.name}: kubeadm needs private mounts`);
  if (!node.containerd) throw new Error(`node ${node.name}: kubeadm init needs the node's containerd`);
  return node.containerd.endpoint;
}

/** kubeadm init's command line for `node`: the same address, node name, pod CIDR and version kubestrap gets. */
export async function kubeadmInitArgv(node: TestbedNode): Promise<string[]> {
  return [
    components().binaries.kubeadm.path,
    'init',
    ...nodeInitFlags(node),
    '--cri-socket',
    criSocket(node),
    '--patches',
    await writeKubeletPatches(node),
    ...machinePreflightIgnores().map((check) => `--ignore-preflight-errors=${check}`),
  ];
}

export interface KubeadmInitResult extends LinesResult {
  /** The kubelet the stand-in started, if kubeadm got that far. */
  kubelet: Proc | undefined;
}

/** Runs `kubeadm init` in the node, starting the kubelet when kubeadm asks systemd for it. Never rejects on kubeadm's failure. */
export async function kubeadmInit(node: TestbedNode, onLine: (line: string) => void, timeoutMs = 300_000): Promise<KubeadmInitResult> {
  const argv = await kubeadmInitArgv(node);
  let kubelet: Promise<Proc> | undefined;
  const result = await runWithLines([...node.launcher, ...argv], {
    env: kubeadmEnv(),
    timeoutMs,
    onLine: (line) => {
      onLine(line);
      if (!kubelet && line.includes(STARTING_KUBELET)) kubelet = startKubeletUnit(node);
    },
  });
  return { ...result, kubelet: await kubelet };
}

/** Entries left in a dir of the node's rootfs (an absent dir is empty). */
async function entries(node: TestbedNode, dir: string): Promise<string[]> {
  return (await readdir(path.join(node.rootfs, dir)).catch(() => [] as string[])).map((e) => path.posix.join(dir, e));
}

/**
 * `kubeadm reset -f` in the node, then the kubelet stopped (reset only asks systemd to), and a list
 * of what reset left: files in the dirs init wrote, CRI containers. The bed's stop() removes those.
 */
export async function kubeadmReset(node: TestbedNode, kubelet: Proc | undefined): Promise<string[]> {
  const notes: string[] = [];
  const reset = await runWithLines([...node.launcher, components().binaries.kubeadm.path, 'reset', '-f', '--cri-socket', criSocket(node)], {
    env: kubeadmEnv(),
    timeoutMs: 120_000,
  });
  if (reset.code !== 0) notes.push(`kubeadm reset exited ${reset.code}: ${reset.output.trim().split('\n').at(-1) ?? ''}`);
  if (kubelet?.running()) {
    notes.push('kubelet stopped (reset cannot without systemd)');
    await kubelet.stop(10_000);
  }
  for (const dir of ['/etc/kubernetes', '/etc/kubernetes/manifests', '/var/lib/kubelet', '/var/lib/etcd']) {
    const left = (await entries(node, dir)).filter((e) => e !== '/etc/kubernetes/manifests');
    if (left.length > 0) notes.push(`left in ${dir}: ${left.map((e) => path.posix.basename(e)).join(' ')}`);
  }
  const containers = (await node.containerd?.ctr(['containers', 'ls', '-q']).catch(() => ''))?.trim();
  if (containers) notes.push(`${containers.split('\n').length} containers left`);
  return notes;
}
