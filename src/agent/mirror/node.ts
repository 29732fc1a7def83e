/**
 * The Node object the agent registers, shaped like the kubelet's (kubelet_node_status.go): labels
 * NodeRestriction lets a node set on itself, addresses, capacity, nodeInfo, the four standard
 * conditions and the daemon endpoint the API server dials for logs.
 */
import type { V1Node, V1NodeCondition, V1NodeStatus, V1Taint } from '@kubernetes/client-node';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Host } from '../../host/host.js';
import { LABEL_STATIC_PODS_ONLY } from '../annotations.js';

/** Everything about this machine that goes into the Node; gathered once by `collectNodeFacts`. */
export interface NodeFacts {
  nodeName: string;
  /** InternalIP address (the advertise / node IP). */
  nodeIP: string;
  /** Port of the agent's HTTP endpoint (`daemonEndpoints.kubeletEndpoint.Port`). */
  kubeletPort: number;
  /** Reported as `kubeletVersion`: the deployed Kubernetes version, so version-skew checks pass. */
  kubeletVersion: string;
  /** `containerd://1.7.x` for the cri runtime, `kubestrap-process://<version>` for processes. */
  containerRuntimeVersion: string;
  /** Go's GOARCH spelling: amd64, arm64, ... */
  architecture: string;
  cpu: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
}

/** Node.js `process.arch` → Go's GOARCH, which the `kubernetes.io/arch` label uses. */
const GOARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export const goArch = (arch: string = process.arch): string => GOARCH[arch] ?? arch;

export const MAX_PODS = 110;

/** The standard conditions; pressure conditions are constant because the agent does no eviction. */
const CONDITIONS: readonly Omit<V1NodeCondition, 'lastHeartbeatTime' | 'lastTransitionTime'>[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubestrap agent is posting ready status' },
];

/** The kubelet's default labels, plus the agent's own: this node runs static pods only. */
export function nodeLabels(facts: NodeFacts): Record<string, string> {
  const arch = facts.architecture;
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': facts.nodeName,
    'kubernetes.io/os': 'linux',
    [LABEL_STATIC_PODS_ONLY]: 'true',
  };
}

/** Labels of `nodeLabels` an existing Node lacks or has otherwise (the kubelet's updateDefaultLabels); undefined when none. */
export function missingLabels(node: V1Node, facts: NodeFacts): Record<string, string> | undefined {
  const have = node.metadata?.labels ?? {};
  const out = Object.fromEntries(Object.entries(nodeLabels(facts)).filter(([k, v]) => have[k] !== v));
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The status block. `since` is when the conditions became what they are (lastTransitionTime);
 * `now` is the heartbeat.
 */
export function nodeStatus(facts: NodeFacts, now: Date, since: Date = now): V1NodeStatus {
  const capacity = {
    cpu: String(facts.cpu),
    memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`,
    pods: String(MAX_PODS),
    'ephemeral-storage': `${Math.floor(facts.ephemeralStorageBytes / 1024)}Ki`,
  };
  return {
    addresses: [
      { type: 'InternalIP', address: facts.nodeIP },
      { type: 'Hostname', address: facts.nodeName },
    ],
    capacity,
    allocatable: { ...capacity },
    conditions: CONDITIONS.map((c) => ({ ...c, lastHeartbeatTime: now, lastTransitionTime: since })),
    daemonEndpoints: { kubeletEndpoint: { Port: facts.kubeletPort } },
    nodeInfo: {
      architecture: facts.architecture,
      bootID: facts.bootID,
      containerRuntimeVersion: facts.containerRuntimeVersion,
      kernelVersion: facts.kernelVersion,
      kubeProxyVersion: '',
      kubeletVersion: facts.kubeletVersion,
      machineID: facts.machineID,
      operatingSystem: 'linux',
      osImage: facts.osImage,
      systemUUID: facts.systemUUID,
    },
  };
}

/** The Node to create. Taints only here: NodeRestriction forbids a node to change them later. */
export function buildNode(facts: NodeFacts, now: Date, taints: V1Taint[] = []): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: facts.nodeName,
      labels: nodeLabels(facts),
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: taints.length > 0 ? { taints } : {},
    status: nodeStatus(facts, now),
  };
}

export interface FactOverrides {
  nodeName: string;
  nodeIP: string;
  kubeletPort: number;
  kubeletVersion: string;
  containerRuntimeVersion: string;
}

/**
 * Reads the machine's facts. Identity files (machine-id) come from the rootfs first, so simulated
 * nodes sharing one machine differ; kernel facts (/proc, uname) can only be the real machine's.
 */
export async function collectNodeFacts(host: Host, given: FactOverrides): Promise<NodeFacts> {
  const firstLine = async (paths: string[]): Promise<string> => {
    for (const p of paths) {
      const text = await readFile(p, 'utf8').catch(() => undefined);
      if (text?.trim()) return text.trim().split('\n')[0]!.trim();
    }
    return '';
  };
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux';
  let storage = 0;
  try {
    const st = await statfs(host.rootfs);
    storage = st.blocks * st.bsize;
  } catch {
    // Unknown capacity stays 0: the scheduler never places pods here anyway.
  }
  const machineID = await firstLine([host.path('/etc/machine-id'), '/etc/machine-id', '/var/lib/dbus/machine-id']);
  return {
    ...given,
    architecture: goArch(),
    cpu: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    ephemeralStorageBytes: storage,
    machineID,
    systemUUID: (await firstLine(['/sys/class/dmi/id/product_uuid'])) || machineID,
    bootID: await firstLine(['/proc/sys/kernel/random/boot_id']),
    kernelVersion: os.release(),
    osImage: pretty,
  };
}
