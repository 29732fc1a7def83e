/**
 * A multi-node test bed on this one machine: each node is a network namespace joined by a veth
 * pair to a test bridge, with its own directory (the node's `--rootfs`), optionally its own
 * containerd, and routes to the other nodes' pod CIDRs (for a CNI bridge + host-local later).
 *
 * Addresses: the bed owns 198.18.0.0/15 (RFC 2544's benchmarking range, never routed on the
 * internet and unused on this machine): nodes on 198.18.0.0/24 (bridge .1, node i at .(10+i)),
 * node i's pod CIDR 198.19.i.0/24. Nothing outside the machine is ever addressed: the bridge has no
 * uplink and host forwarding is left alone, so traffic stays between the namespaces and the bridge.
 *
 * Names carry the owning process' pid (`<run>` = base-36 pid + a counter): netns `ks-<run>-<node>`,
 * bridge `ks-br-<run>`, host veth ends `ksv<run>-<i>`, dir `/tmp/ks-bed-<run>-XXXXXX`, cgroups
 * `ks-<run>-<node>` (a kubelet's cgroupRoot). stop() removes all of it; so does an exit/signal safety
 * net, and sweepTestbeds() (run by startTestbed()) removes what dead runs left behind.
 *
 * Processes run in a node through `nsenter --net`: by default only the network namespace differs,
 * so mounts that containerd and a kubelet make are in the host mount namespace, visible to each
 * other (volumes) and to the teardown. A node with `privateMounts` also has its own mount namespace
 * (entered by the same launcher, so its containerd and kubelet share it), where the host paths
 * kubeadm and the kubelet hard-code are the node's rootfs dirs; its mounts die with its processes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ContainerdChoice, ImageName } from './components.js';
import { startContainerd, type PrivateContainerd } from './containerd.js';
import { mountsUnderSync } from './mounts.js';
import { startProcess, type Proc, type StartOptions } from './proc.js';

const execFileP = promisify(execFile);

/** The nodes' network: bridge at .1, node i at .(NODE_HOST_BASE + i). */
export const NODE_SUBNET = { prefix: '198.18.0', length: 24 } as const;
const NODE_HOST_BASE = 10;
/** Node i's pod CIDR is 198.19.i.0/24. */
const POD_PREFIX = '198.19';
/** Every node's pod CIDR is inside it (a cluster's `--pod-network-cidr`). */
export const POD_NETWORK = `${POD_PREFIX}.0.0/16`;
const NAME_RE = /^[a-z0-9]{1,8}$/;

export interface TestbedOptions {
  /** Node names: lowercase letters and digits, at most 8 characters (they end up in netns and cgroup names; veths use the index). */
  nodes: readonly string[];
  /** Start a containerd in every node: true = the suite's choice ($KUBESTRAP_CONTAINERD), 1 or 2 to pick one. */
  containerd?: boolean | ContainerdChoice;
  /** Images each node's containerd imports (default: startContainerd()'s). */
  images?: ImageName[];
  /** With `containerd`: only these nodes get one (default: every node), e.g. workers beside a process-runtime control plane. */
  containerdNodes?: readonly string[];
  /**
   * Nodes (true: every node) with a private mount namespace in which the host paths a kubelet and
   * kubeadm hard-code (NODE_PRIVATE_DIRS) are the node's rootfs dirs: processes started there
   * (`exec`, `spawn`, the node's containerd) read and write `<rootfs>/etc/kubernetes` as
   * /etc/kubernetes, and the host's own dirs stay untouched.
   */
  privateMounts?: boolean | readonly string[];
  /**
   * More bind mounts in every private mount namespace, mount point → host source (e.g. the
   * repository at /vagrant, as the Vagrant lab's VMs see it). Mount points the host lacks are
   * created empty and removed by the teardown, as for NODE_PRIVATE_DIRS.
   */
  binds?: Readonly<Record<string, string>>;
}

/**
 * What a node with private mounts sees as its own, bind-mounted from `<rootfs><dir>`: kubeadm's and
 * the kubelet's hard-coded paths (kubeadm constants: /etc/kubernetes, /var/lib/kubelet; the
 * kubelet's pod logs, container log links, device-plugin socket, volume plugin dir; libcni's cache)
 * and kubestrap's state dir.
 */
export const NODE_PRIVATE_DIRS = [
  '/etc/kubernetes',
  '/var/lib/kubelet',
  '/var/log/pods',
  '/var/log/containers',
  '/var/lib/cni',
  '/usr/libexec/kubernetes',
  '/var/lib/kubestrap',
  // kubeadm's etcd data dir (constants.EtcdDataDir), its etcd pod's hostPath and reset's target
  '/var/lib/etcd',
  // containerd's CRI pins pod network namespaces here (hard-coded /var/run/netns); the bed's own
  // namespaces there are opened by nsenter before it enters the node's mount namespace
  '/run/netns',
] as const;

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface TestbedNode {
  readonly name: string;
  readonly index: number;
  /** Network namespace name (`ip netns exec <netns> ...`). */
  readonly netns: string;
  /** The node's address on the bridge. */
  readonly ip: string;
  /** The node's pod CIDR (routed to `ip` from every other node). */
  readonly podCidr: string;
  /** The node's directory (logs, sockets); `rootfs` is inside it. */
  readonly dir: string;
  /** The node's `--rootfs`. */
  readonly rootfs: string;
  /** The cgroup name (under each hierarchy's root) reserved for this node, e.g. a kubelet's cgroupRoot; created by `cgroupRoot()`. */
  readonly cgroupName: string;
  /** The node's containerd, when the bed was started with one. */
  readonly containerd: PrivateContainerd | undefined;
  /** `nsenter --net=... [--mount=...] --`: prefix a command line with it to run it in the node's namespaces. */
  readonly launcher: readonly string[];
  /** Whether the node has its own mount namespace (TestbedOptions.privateMounts). */
  readonly privateMounts: boolean;
  /** Runs a command to completion inside the node's network namespace. */
  exec(command: string, args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Starts a long-running process inside the node's network namespace (stopped by bed.stop()). */
  spawn(name: string, command: string, args: readonly string[], options?: Partial<StartOptions>): Promise<Proc>;
  /** Creates `/<cgroupName>` in every cgroup v1 hierarchy (and the unified one); returns `/<cgroupName>`. Removed by stop(). */
  cgroupRoot(): string;
}

export interface Testbed {
  readonly run: string;
  readonly bridge: string;
  /** The bridge's address (the host side of the bed). */
  readonly bridgeIp: string;
  readonly dir: string;
  readonly nodes: readonly TestbedNode[];
  node(name: string): TestbedNode;
  /** Registers a synchronous cleanup, run by the teardown once the bed's processes are gone (last registered first). */
  onStop(cleanup: () => void): void;
  /** Tears everything down: processes, containerds, mounts, links, namespaces, cgroups, the dir. */
  stop(): Promise<void>;
}

export class TestbedError extends Error {
  constructor(
    message: string,
    readonly step: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Runs a command synchronously; throws with its output on failure unless `allowFail`. */
function sh(command: string, args: readonly string[], allowFail = false): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 && !allowFail) {
    throw new TestbedError(`${command} ${args.join(' ')} failed: ${`${r.stderr ?? ''}${r.stdout ?? ''}`.trim() || r.error?.message}`, command);
  }
  return r.stdout ?? '';
}

const CGROUP_FS = '/sys/fs/cgroup';

/** Every cgroup hierarchy's mount point (v1 controllers, name=systemd, the unified v2 one). */
function cgroupHierarchies(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-');
      return sep > 0 && (f[sep + 1] === 'cgroup' || f[sep + 1] === 'cgroup2');
    })
    .map((f) => f[4] ?? '')
    .filter((p) => p.startsWith(`${CGROUP_FS}/`));
}

/** Removes a cgroup tree, deepest first (a cgroup is removed with rmdir once it has no processes). */
function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroup(path.join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still has processes (the kill below should have taken them) or already gone
  }
}

/** What one run owns, by name: enough to tear it down synchronously (exit hook, sweeper). */
interface RunResources {
  netns: string[];
  links: string[];
  cgroups: string[];
  dirs: string[];
  /** Run after the processes are gone, before links and dirs go (synchronous: the exit hook runs them too). */
  cleanups: (() => void)[];
}

/** SIGKILLs the pids `list()` returns until it returns none (at most 20 rounds, 0.1 s apart). */
function killUntilGone(list: () => number[]): void {
  for (let round = 0; round < 20; round++) {
    const pids = list();
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    spawnSync('sleep', ['0.1']);
  }
}

function killNetnsProcesses(netns: string): void {
  killUntilGone(() => sh('ip', ['netns', 'pids', netns], true).split('\n').filter(Boolean).map(Number));
}

/** Every pid in a cgroup tree (cgroup.procs of it and its descendants). */
function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids: number[] = [];
  try {
    pids.push(...readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) pids.push(...cgroupPids(path.join(dir, entry.name)));
  } catch {
    // removed meanwhile
  }
  return pids;
}

/**
 * Kills what runs in a node's cgroup: pods' containers live in their own network namespaces, so
 * killing the node's namespace misses them when nothing stopped them first (a kubelet outside
 * the bed's own processes, a failed test).
 */
function killCgroupProcesses(name: string): void {
  killUntilGone(() => [...new Set(cgroupHierarchies().flatMap((h) => cgroupPids(path.join(h, name))))]);
}

/** Synchronous teardown of everything a run owns (safe to repeat; skips what is gone). */
function teardownSync(r: RunResources): void {
  for (const ns of r.netns) if (existsSync(`/run/netns/${ns}`)) killNetnsProcesses(ns);
  for (const name of r.cgroups) killCgroupProcesses(name);
  for (const cleanup of r.cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // best effort: the rest of the teardown must still run
    }
  }
  for (const dir of r.dirs) for (const point of mountsUnderSync(dir)) sh('umount', ['-l', point], true);
  for (const link of r.links) if (existsSync(`/sys/class/net/${link}`)) sh('ip', ['link', 'del', link], true);
  for (const ns of r.netns) if (existsSync(`/run/netns/${ns}`)) sh('ip', ['netns', 'del', ns], true);
  for (const name of r.cgroups) for (const h of cgroupHierarchies()) removeCgroup(path.join(h, name));
  for (const dir of r.dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owning pid of a `<pid36>-<n>` run id, or undefined for a name that is not ours. */
function ownerPid(run: string): number | undefined {
  const m = /^([0-9a-z]+)-\d+$/.exec(run);
  return m?.[1] ? parseInt(m[1], 36) : undefined;
}

const DIR_PREFIX = 'ks-bed-';
const NETNS_RE = /^ks-([0-9a-z]+-\d+)-[a-z0-9]+$/;
const BRIDGE_RE = /^ks-br-([0-9a-z]+-\d+)$/;
const VETH_RE = /^ksv([0-9a-z]+-\d+)-\d+$/;
const DIR_RE = new RegExp(`^${DIR_PREFIX}([0-9a-z]+-\\d+)-[A-Za-z0-9]{6}$`);

/**
 * Removes what test beds of dead processes left behind (a killed test runner skips its exit hook):
 * their namespaces (and processes in them), links, cgroups, mounts and dirs, found by name prefix.
 * Returns the runs swept.
 */
export function sweepTestbeds(): string[] {
  const dead = new Map<string, RunResources>();
  const of = (run: string): RunResources | undefined => {
    const pid = ownerPid(run);
    if (pid === undefined || pidAlive(pid)) return undefined;
    let r = dead.get(run);
    if (!r) dead.set(run, (r = { netns: [], links: [], cgroups: [], dirs: [], cleanups: [] }));
    return r;
  };
  const netnsNames = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const ns of netnsNames) {
    const run = NETNS_RE.exec(ns)?.[1];
    if (run) of(run)?.netns.push(ns);
  }
  for (const link of readdirSync('/sys/class/net')) {
    const run = BRIDGE_RE.exec(link)?.[1] ?? VETH_RE.exec(link)?.[1];
    if (run) of(run)?.links.push(link);
  }
  for (const h of cgroupHierarchies()) {
    for (const entry of existsSync(h) ? readdirSync(h) : []) {
      const run = NETNS_RE.exec(entry)?.[1];
      if (run) of(run)?.cgroups.push(entry);
    }
  }
  for (const entry of readdirSync(os.tmpdir())) {
    const run = DIR_RE.exec(entry)?.[1];
    if (run) of(run)?.dirs.push(path.join(os.tmpdir(), entry));
  }
  for (const r of dead.values()) {
    r.cgroups = [...new Set(r.cgroups)];
    teardownSync(r);
  }
  return [...dead.keys()];
}

/** Live runs of this process, torn down synchronously if it exits or is signalled before stop(). */
const liveRuns = new Set<RunResources>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const teardownAll = (): void => {
    for (const r of liveRuns) teardownSync(r);
    liveRuns.clear();
  };
  process.on('exit', teardownAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      teardownAll();
      process.kill(process.pid, signal);
    });
  }
}

/** Creates the missing ones of `dirs` (and their parents) on the host; returns what it created, parents first. */
function makeHostDirs(dirs: readonly string[]): string[] {
  const created: string[] = [];
  for (const dir of dirs) {
    const missing: string[] = [];
    for (let d = dir; d !== '/' && !existsSync(d); d = path.dirname(d)) missing.unshift(d);
    for (const d of missing) {
      mkdirSync(d);
      created.push(d);
    }
  }
  return created;
}

/**
 * A mount namespace for one node, held by a `sleep` in the node's network namespace (so the bed's
 * teardown and sweep kill it with the rest): a private copy of the host's mounts with
 * NODE_PRIVATE_DIRS bound to the node's rootfs dirs. The mount points the host lacks are created
 * empty and removed by the teardown. Returns the namespace's path for `nsenter --mount=`.
 */
async function privateMountNamespace(
  name: string,
  netns: string,
  rootfs: string,
  nodeDir: string,
  procs: Proc[],
  r: RunResources,
  binds: Readonly<Record<string, string>> = {},
): Promise<string> {
  const created = makeHostDirs([...NODE_PRIVATE_DIRS, ...Object.keys(binds)]);
  r.cleanups.push(() => {
    for (const dir of [...created].reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (something else wrote there) or gone: left alone
      }
    }
  });
  const holder = await startProcess(
    `${name}/mount-namespace`,
    'nsenter',
    [`--net=/run/netns/${netns}`, '--', 'unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity'],
    {
      logFile: path.join(nodeDir, 'logs', 'mount-namespace.log'),
    },
  );
  procs.push(holder);
  // nsenter and unshare exec (no --fork): the holder's pid is the sleep in the new namespace
  const ns = `/proc/${holder.pid}/ns/mnt`;
  const own = readlinkSync('/proc/self/ns/mnt');
  for (let i = 0; readlinkSync(ns) === own; i++) {
    if (i > 200 || !holder.running()) throw new TestbedError(`node ${name}: no mount namespace (see ${holder.logFile})`, 'mounts');
    spawnSync('sleep', ['0.01']);
  }
  for (const dir of NODE_PRIVATE_DIRS) {
    const source = path.join(rootfs, dir);
    mkdirSync(source, { recursive: true });
    sh('nsenter', [`--mount=${ns}`, '--', 'mount', '--bind', source, dir]);
  }
  for (const [target, source] of Object.entries(binds)) sh('nsenter', [`--mount=${ns}`, '--', 'mount', '--bind', source, target]);
  return ns;
}

let runCounter = 0;

export async function startTestbed(options: TestbedOptions): Promise<Testbed> {
  if (process.getuid?.() !== 0) throw new TestbedError('the test bed needs root (network namespaces, veths, a bridge)', 'root');
  const names = options.nodes;
  if (names.length === 0 || names.length > 200) throw new TestbedError(`nodes: give 1 to 200 node names (got ${names.length})`, 'nodes');
  for (const name of names) {
    if (!NAME_RE.test(name)) throw new TestbedError(`nodes: "${name}" must be 1-8 lowercase letters or digits`, 'nodes');
  }
  if (new Set(names).size !== names.length) throw new TestbedError(`nodes: duplicate names in ${names.join(', ')}`, 'nodes');
  for (const name of options.containerdNodes ?? []) {
    if (!names.includes(name)) throw new TestbedError(`containerdNodes: "${name}" is not one of the nodes (${names.join(', ')})`, 'containerdNodes');
  }

  sweepTestbeds();
  hookExit();
  const run = `${process.pid.toString(36)}-${runCounter++}`;
  const bridge = `ks-br-${run}`;
  const bridgeIp = `${NODE_SUBNET.prefix}.1`;
  const dir = mkdtempSync(path.join(os.tmpdir(), `${DIR_PREFIX}${run}-`));
  const resources: RunResources = { netns: [], links: [], cgroups: [], dirs: [dir], cleanups: [] };
  liveRuns.add(resources);
  const procs: Proc[] = [];
  const nodes: TestbedNode[] = [];

  const stop = async (): Promise<void> => {
    if (!liveRuns.has(resources)) return;
    try {
      await Promise.all(procs.map((p) => p.stop(10_000).catch(() => undefined)));
      for (const node of nodes) await node.containerd?.stop().catch(() => undefined);
    } finally {
      teardownSync(resources);
      liveRuns.delete(resources);
    }
  };

  try {
    resources.links.push(bridge);
    sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${bridgeIp}/${NODE_SUBNET.length}`, 'dev', bridge]);
    sh('ip', ['link', 'set', bridge, 'up']);

    for (const [index, name] of names.entries()) {
      const netns = `ks-${run}-${name}`;
      const veth = `ksv${run}-${index}`;
      const ip = `${NODE_SUBNET.prefix}.${NODE_HOST_BASE + index}`;
      resources.netns.push(netns);
      sh('ip', ['netns', 'add', netns]);
      resources.links.push(veth);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      sh('ip', ['link', 'set', veth, 'master', bridge, 'up']);
      const inNs = (args: string[]): string => sh('ip', ['-n', netns, ...args]);
      inNs(['link', 'set', 'lo', 'up']);
      inNs(['addr', 'add', `${ip}/${NODE_SUBNET.length}`, 'dev', 'eth0']);
      inNs(['link', 'set', 'eth0', 'up']);
      // a node forwards for its own pods (the CNI bridge behind it); the namespace's own sysctl, not the host's
      sh('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);

      const nodeDir = path.join(dir, name);
      const rootfs = path.join(nodeDir, 'rootfs');
      await mkdir(rootfs, { recursive: true });
      const wantsMounts = options.privateMounts === true || (Array.isArray(options.privateMounts) && options.privateMounts.includes(name));
      const mountArgs = wantsMounts ? [`--mount=${await privateMountNamespace(name, netns, rootfs, nodeDir, procs, resources, options.binds)}`] : [];
      const launcher = ['nsenter', `--net=/run/netns/${netns}`, ...mountArgs, '--'] as const;
      const cgroupName = netns;
      const node: TestbedNode & { containerd: PrivateContainerd | undefined } = {
        name,
        index,
        netns,
        ip,
        podCidr: `${POD_PREFIX}.${index}.0/24`,
        dir: nodeDir,
        rootfs,
        cgroupName,
        containerd: undefined,
        launcher,
        privateMounts: wantsMounts,
        async exec(command, args, opts = {}) {
          const { stdout, stderr } = await execFileP(launcher[0], [...launcher.slice(1), command, ...args], {
            timeout: opts.timeoutMs ?? 60_000,
            env: opts.env ?? process.env,
            maxBuffer: 16 * 1024 * 1024,
          });
          return { stdout, stderr };
        },
        async spawn(procName, command, args, opts = {}) {
          const proc = await startProcess(`${name}/${procName}`, launcher[0], [...launcher.slice(1), command, ...args], {
            logFile: opts.logFile ?? path.join(nodeDir, 'logs', `${procName}.log`),
            env: opts.env,
            cwd: opts.cwd,
          });
          procs.push(proc);
          return proc;
        },
        cgroupRoot() {
          if (!resources.cgroups.includes(cgroupName)) resources.cgroups.push(cgroupName);
          for (const h of cgroupHierarchies()) sh('mkdir', ['-p', path.join(h, cgroupName)]);
          return `/${cgroupName}`;
        },
      };
      nodes.push(node);
    }
    // every node reaches every other node's pods through that node
    for (const node of nodes) {
      for (const other of nodes) {
        if (other !== node) sh('ip', ['-n', node.netns, 'route', 'add', other.podCidr, 'via', other.ip, 'dev', 'eth0']);
      }
    }
    if (options.containerd) {
      const choice = options.containerd === true ? undefined : options.containerd;
      for (const node of nodes.filter((n) => !options.containerdNodes || options.containerdNodes.includes(n.name))) {
        (node as { containerd: PrivateContainerd | undefined }).containerd = await startContainerd({
          containerd: choice,
          images: options.images,
          dir: path.join(node.dir, 'containerd'),
          launcher: node.launcher,
        });
      }
    }
  } catch (err) {
    await stop();
    throw new TestbedError(`test bed ${run}: ${err instanceof Error ? err.message : String(err)}`, 'start', { cause: err });
  }

  return {
    run,
    bridge,
    bridgeIp,
    dir,
    nodes,
    node(name) {
      const node = nodes.find((n) => n.name === name);
      if (!node) throw new TestbedError(`no node "${name}" in test bed ${run} (nodes: ${names.join(', ')})`, 'node');
      return node;
    },
    onStop(cleanup) {
      resources.cleanups.push(cleanup);
    },
    stop,
  };
}

/** Whatever of a run the machine still has, by name (tests assert it is empty after stop()). */
export function testbedLeftovers(bed: Pick<Testbed, 'run' | 'bridge' | 'dir' | 'nodes'>): string[] {
  const found: string[] = [];
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const n of bed.nodes) if (netns.includes(n.netns)) found.push(`netns ${n.netns}`);
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
  if (links.includes(bed.bridge)) found.push(`bridge ${bed.bridge}`);
  if (links.includes(`ksv${bed.run}-`)) found.push(`veth ksv${bed.run}-*`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  if (mounts.includes(bed.dir)) found.push(`mounts under ${bed.dir}`);
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // exited meanwhile
    }
    if (cmdline.includes(bed.dir) || cmdline.includes(`/run/netns/ks-${bed.run}-`)) found.push(`process ${pid}: ${cmdline.replace(/\0/g, ' ').slice(0, 100)}`);
  }
  for (const n of bed.nodes) {
    for (const h of cgroupHierarchies()) if (existsSync(path.join(h, n.cgroupName))) found.push(`cgroup ${path.join(h, n.cgroupName)}`);
  }
  if (existsSync(bed.dir)) found.push(`dir ${bed.dir}`);
  return found;
}

/**
 * For host paths a component hard-codes (no flag moves them into the bed): registers with
 * bed.onStop() the removal of `files` and of those `dirs` (parents first in the list) that do not
 * exist now; a dir is removed only when empty, never what something else put there. Call before
 * starting the component.
 */
export function removeCreatedHostPathsOnStop(bed: Testbed, dirs: readonly string[], files: readonly string[] = []): void {
  const createdDirs = dirs.filter((dir) => !existsSync(dir));
  const createdFiles = files.filter((file) => !existsSync(file));
  bed.onStop(() => {
    for (const file of createdFiles) rmSync(file, { force: true });
    for (const dir of [...createdDirs].reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty or gone
      }
    }
  });
}
