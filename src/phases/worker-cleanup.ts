/**
 * What reset undoes of a `kubestrap join` (kubeadm's cleanup-node for a worker): stop the kubelet
 * (its systemd unit, or the supervised daemon) and every pod sandbox on its CRI runtime, unmount
 * what the kubelet mounted under its root dir, and name the files join wrote. The Node object is
 * left in the cluster, as kubeadm leaves it.
 */
import path from 'node:path';
import { parse } from 'yaml';
import { API_SERVERS_FILE, KUBELET_DIR, KUBELET_PATHS } from '../constants.js';
import { messageOf } from '../errors.js';
import type { Host } from '../host/host.js';
import { readMountPoints } from '../host/mountinfo.js';
import type { Printer } from '../output.js';
import { API_LB_SERVICE } from './api-lb-service.js';
import { KUBELET_INSTANCE_CONFIG } from './kubelet-files.js';
import { AGENT_CHILD_PID, KUBELET_SERVICE, stopSupervised, type Systemctl } from './node-service.js';

/** What join wrote for the kubelet, beside the kubeconfigs and the CA (which reset removes with init's). */
export const KUBELET_WRITTEN: readonly string[] = [
  KUBELET_DIR,
  KUBELET_SERVICE.pid,
  KUBELET_SERVICE.childPid,
  KUBELET_SERVICE.log,
  path.posix.dirname(KUBELET_SERVICE.dropIn),
  KUBELET_SERVICE.unit,
  AGENT_CHILD_PID,
  API_LB_SERVICE.pid,
  API_LB_SERVICE.childPid,
  API_LB_SERVICE.log,
  API_LB_SERVICE.unit,
  API_SERVERS_FILE,
];

/** The CRI endpoint the joined kubelet used (kubeadm's instance-config.yaml), if join ran here. */
export async function joinedCriEndpoint(host: Host): Promise<string | undefined> {
  const text = (await host.readOptional(KUBELET_INSTANCE_CONFIG))?.toString('utf8');
  const doc = text ? (parse(text) as { containerRuntimeEndpoint?: unknown } | null) : undefined;
  return typeof doc?.containerRuntimeEndpoint === 'string' ? doc.containerRuntimeEndpoint : undefined;
}

/** The node name join gave the kubelet (hostname-override), for reset's note on the Node object. */
export async function joinedNodeName(host: Host): Promise<string | undefined> {
  const text = (await host.readOptional(KUBELET_PATHS.flagsEnv))?.toString('utf8') ?? '';
  return /--hostname-override=(\S+?)(?:["\s]|$)/.exec(text)?.[1];
}

/** Stops the kubelet: its unit where join made one, and a supervised daemon of this rootfs. */
export async function stopKubelet(host: Host, out: Printer, systemctl: Systemctl): Promise<void> {
  if (host.rootfs === '/' && (await host.exists(KUBELET_SERVICE.dropIn))) {
    out.line('reset', `Stopping the ${KUBELET_SERVICE.unitName} systemd unit`);
    await systemctl(['disable', '--now', KUBELET_SERVICE.unitName]).catch((err: unknown) => out.warn('reset', `systemctl: ${messageOf(err)}`));
  }
  if (await stopSupervised(host, { pidFile: KUBELET_SERVICE.pid, childPidFile: KUBELET_SERVICE.childPid })) out.line('reset', 'Stopped the supervised kubelet');
  // after the kubelet: it talks to the API through the balancer to its end
  if (host.rootfs === '/' && (await host.exists(API_LB_SERVICE.unit))) {
    out.line('reset', `Stopping the ${API_LB_SERVICE.unitName} systemd unit`);
    await systemctl(['disable', '--now', API_LB_SERVICE.unitName]).catch((err: unknown) => out.warn('reset', `systemctl: ${messageOf(err)}`));
  }
  if (await stopSupervised(host, { pidFile: API_LB_SERVICE.pid, childPidFile: API_LB_SERVICE.childPid }))
    out.line('reset', 'Stopped the node-local API balancer');
}

/** kubeadm's removeContainers: every pod sandbox on the runtime (stop, then remove). */
export async function removeKubeletPods(endpoint: string, out: Printer): Promise<void> {
  const { criClient } = await import('../cri/client.js');
  const client = criClient(endpoint, { timeoutMs: 10_000 });
  try {
    const { items } = await client.runtime.listPodSandbox({ filter: null });
    if (items.length) out.line('reset', `Removing ${items.length} pod sandboxes from the CRI runtime at ${endpoint}`);
    for (const sb of items) {
      await client.runtime.stopPodSandbox({ podSandboxId: sb.id });
      await client.runtime.removePodSandbox({ podSandboxId: sb.id });
    }
  } catch (err) {
    out.warn('reset', `cannot remove the kubelet's containers at ${endpoint}: ${messageOf(err)}`);
  } finally {
    client.close();
  }
}

/** Mounts the kubelet left under its root dir (volumes, pod dirs), deepest first: kubeadm unmounts these before deleting. */
export async function kubeletMounts(host: Host): Promise<string[]> {
  const root = host.path(KUBELET_DIR);
  return (await readMountPoints().catch(() => [] as string[])).filter((m) => m.startsWith(`${root}/`)).sort((a, b) => b.length - a.length);
}

/** kubeadm reset's closing notes, and what it leaves in the cluster. */
export function resetNotes(nodeName: string | undefined): string {
  return [
    '',
    'The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d',
    '',
    'The reset process does not reset or clean up iptables rules or IPVS tables.',
    'If you wish to reset iptables, you must do so manually by using the "iptables" command.',
    '',
    'If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)',
    "to reset your system's IPVS tables.",
    '',
    'The reset process does not clean your kubeconfig files and you must remove them manually.',
    'Please, check the contents of the $HOME/.kube/config file.',
    ...(nodeName
      ? [
          '',
          `The Node object "${nodeName}" is left in the cluster, as kubeadm leaves it; remove it with "kubectl delete node ${nodeName}" on the control plane.`,
        ]
      : []),
  ].join('\n');
}
