/**
 * The real kubelet (built by prepare) in a test bed node. kubeletTestbedConfig() is the ONE place
 * for what this machine needs of a kubelet that a production node would not set; each setting says
 * why. Everything the kubelet writes is under the node's rootfs (root dir, cert dir, pod logs,
 * volume plugin dir) or its per-node cgroup, so several kubelets share the machine.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { components } from './components.js';
import type { Proc } from './proc.js';
import { NODE_SUBNET, removeCreatedHostPathsOnStop, type Testbed, type TestbedNode } from './testbed.js';

/**
 * Host paths the kubelet hard-codes (no flag or config field moves them): the device manager's
 * socket dir (deviceplugin/v1beta1 DevicePluginPath) and the /var/log/containers symlink dir
 * (kubelet.go DefaultContainerLogsDir). Kubelets of several nodes share them (the last one started
 * owns device-plugins/kubelet.sock); the bed's teardown removes what the kubelets created there.
 */
const HARDCODED_HOST_DIRS = ['/var/lib/kubelet', '/var/lib/kubelet/device-plugins', '/var/log/containers'] as const;
const DEVICE_PLUGIN_SOCKET = '/var/lib/kubelet/device-plugins/kubelet.sock';

/** Beds whose kubelet host paths are already registered for removal. */
const hostPathCleanups = new WeakSet<Testbed>();

/** A KubeletConfiguration (kubelet.config.k8s.io/v1beta1) as JSON, which the kubelet's decoder reads like YAML. */
export type KubeletConfiguration = Record<string, unknown> & { apiVersion: string; kind: string };

/** The paths one node's kubelet uses, all under the node's rootfs. */
export interface KubeletPaths {
  rootDir: string;
  certDir: string;
  staticPodPath: string;
  podLogsDir: string;
  volumePluginDir: string;
  configFile: string;
}

export function kubeletPaths(node: TestbedNode): KubeletPaths {
  const rootDir = path.join(node.rootfs, 'var/lib/kubelet');
  return {
    rootDir,
    certDir: path.join(rootDir, 'pki'),
    staticPodPath: path.join(node.rootfs, 'etc/kubernetes/manifests'),
    podLogsDir: path.join(node.rootfs, 'var/log/pods'),
    volumePluginDir: path.join(node.rootfs, 'usr/libexec/kubernetes/kubelet-plugins/volume/exec'),
    configFile: path.join(node.rootfs, 'var/lib/kubelet/config.json'),
  };
}

/** Whether the machine has swap on (/proc/swaps lists more than its header). */
function swapOn(): boolean {
  return existsSync('/proc/swaps') && readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
}

/**
 * kubeadm preflight checks THIS machine fails for a reason kubeletMachineSettings() answers: on
 * cgroup v1, SystemVerification is an error that kubeadm itself says to skip once the kubelet has
 * `failCgroupV1: false` ("You must also explicitly skip this validation").
 */
export function machinePreflightIgnores(): string[] {
  return cgroupV2() ? [] : ['SystemVerification'];
}

/** Whether /sys/fs/cgroup is the cgroup v2 unified hierarchy (else v1, here hybrid). */
function cgroupV2(): boolean {
  const root = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[4] === '/sys/fs/cgroup');
  return !!root && root[root.indexOf('-') + 1] === 'cgroup2';
}

/**
 * The resolv.conf a bed node's kubelet gives pods with dnsPolicy Default (CoreDNS forwards to it):
 * an address on the bed's node subnet that no node ever has, so an upstream query finds nobody
 * (no ARP answer) and nothing outside the bed is ever asked, while CoreDNS starts — with an empty
 * file it exits ("no nameservers found").
 */
export const NODE_UPSTREAM_DNS = `${NODE_SUBNET.prefix}.254`;

/**
 * What THIS machine needs of any kubelet in a test bed node, standalone or joined to a cluster
 * (where kubeadm's `--patches` adds it to the cluster's kubelet-config, which stays as users get
 * it). Creates the node's cgroup root and resolv.conf.
 */
export function kubeletMachineSettings(node: TestbedNode): Record<string, unknown> {
  const resolvConf = path.join(node.dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${NODE_UPSTREAM_DNS}\n`);
  return {
    // This machine is cgroup v1 (hybrid: cgroup2 only at /sys/fs/cgroup/unified); kubelets since
    // v1.35 refuse v1 unless told (validation_linux.go: FailCgroupV1 && isCgroup1 → error).
    failCgroupV1: cgroupV2(),
    // systemd is not PID 1 here: no systemd cgroup manager to talk to, and the node's containerd
    // runs runc with SystemdCgroup = false; the kubelet must match the runtime's driver.
    cgroupDriver: 'cgroupfs',
    // Several kubelets share the machine's cgroup hierarchies: each gets its own root (created by
    // node.cgroupRoot(), removed by the bed) so their kubepods/QoS cgroups do not collide.
    cgroupRoot: node.cgroupRoot(),
    // The kubelet refuses to start with swap on unless told (server.go, "running with swap on is
    // not supported"); only relaxed when this machine actually has swap.
    failSwapOn: !swapOn(),
    // The pods must not inherit this machine's DNS setup: nothing outside the machine is addressed.
    resolvConf,
    // A test node must not be evicted or garbage-collect images because the shared disk of this
    // build machine is fuller than a real node's thresholds.
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
  };
}

/**
 * The test bed's kubelet settings for `node`, standalone (no API server): static pods from the
 * node's manifest dir, the node's containerd.
 */
export function kubeletTestbedConfig(node: TestbedNode, paths: KubeletPaths): KubeletConfiguration {
  if (!node.containerd) throw new Error(`node ${node.name}: the kubelet needs the node's containerd (startTestbed({ containerd: true }))`);
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    ...kubeletMachineSettings(node),
    containerRuntimeEndpoint: node.containerd.endpoint,
    staticPodPath: paths.staticPodPath,
    // Host paths a kubelet writes by default, moved under the node's rootfs so nodes do not share them
    // and nothing outside the bed's dir is touched.
    podLogsDir: paths.podLogsDir,
    volumePluginDir: paths.volumePluginDir,
    // Standalone: no API server to check tokens or authorize against; the API is on the node's own
    // namespace only.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    readOnlyPort: 0,
    address: node.ip,
    healthzBindAddress: '127.0.0.1',
    // Tests want to see a static pod's change quickly (default 20 s between manifest dir scans).
    fileCheckFrequency: '1s',
    syncFrequency: '5s',
  };
}

export interface StartKubeletOptions {
  /** Extra flags after the generated ones. */
  extraArgs?: readonly string[];
}

export interface NodeKubelet {
  readonly proc: Proc;
  readonly paths: KubeletPaths;
  readonly config: KubeletConfiguration;
}

/** Writes the node's kubelet config and starts the kubelet in the node's namespace (stopped by bed.stop()). */
export async function startKubelet(bed: Testbed, node: TestbedNode, options: StartKubeletOptions = {}): Promise<NodeKubelet> {
  if (!hostPathCleanups.has(bed)) {
    hostPathCleanups.add(bed);
    removeCreatedHostPathsOnStop(bed, HARDCODED_HOST_DIRS, [DEVICE_PLUGIN_SOCKET]);
  }
  const paths = kubeletPaths(node);
  for (const dir of [paths.certDir, paths.staticPodPath, paths.podLogsDir, paths.volumePluginDir]) await mkdir(dir, { recursive: true });
  const config = kubeletTestbedConfig(node, paths);
  await writeFile(paths.configFile, `${JSON.stringify(config, null, 2)}\n`);
  const args = [
    `--config=${paths.configFile}`,
    `--root-dir=${paths.rootDir}`,
    `--cert-dir=${paths.certDir}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ip}`,
    '--v=2',
    ...(options.extraArgs ?? []),
  ];
  const proc = await node.spawn('kubelet', components().binaries.kubelet.path, args);
  return { proc, paths, config };
}
