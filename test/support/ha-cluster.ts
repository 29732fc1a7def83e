/**
 * A highly available control plane on the test bed (issue 13): cp1 runs `kubestrap init
 * --upload-certs --control-plane-endpoint <endpoint>`, the other control planes join with the
 * printed `--control-plane --certificate-key` command (process runtime: no containerd on them),
 * workers join with the worker command (kubelet + containerd, private mounts). The endpoint is a
 * parameter: cp1's bed address by default, or whatever `endpoint(bed)` returns — an HAProxy in its
 * own namespace or the node-local balancer (issue 13b) — after `beforeInit(bed)` has started it.
 *
 * With `version` (an upgrade's start, e.g. UPGRADE_FROM) every node runs that version: its binaries
 * staged on the control planes, init at it, and each worker's kubelet started through a link of its
 * own (`kubeletLink(node)`, what a package puts at /usr/bin/kubelet), which a test re-points to
 * another version's kubelet, as an operator upgrades the binary.
 *
 * `etcdctl()` runs the harness' etcdctl in a control-plane node's network namespace with that
 * node's etcd healthcheck-client certificate; `members()` is its `member list` as JSON. `stop()`
 * resets every node (etcd membership left alone: the bed goes away) and stops the bed.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Node } from '@kubernetes/client-node';
import { initControlPlane, parseJoinCommand, resetControlPlane, type ControlPlane, type ControlPlaneRuntime, type JoinCommand } from './cluster.js';
import { enablePodNetwork } from './cni.js';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { components, componentsOf } from './components.js';
import { stageImageBinaries } from './image-binaries.js';
import { kubectl, kubectlJson, kubestrap, REPO, type CliResult } from './init-e2e.js';
import { defaultJoiner, joinNode } from './node-join.js';
import type { LinesResult } from './proc.js';
import { startTestbed, type Testbed, type TestbedNode } from './testbed.js';

const execFileAsync = promisify(execFile);

/** The control-plane join command init printed (with --upload-certs), taken apart. */
export interface ControlPlaneJoinCommand extends JoinCommand {
  /** `--certificate-key`, when init uploaded the certificates. */
  certificateKey?: string;
}

/** The `kubestrap join ... --control-plane` command of init's output. */
export function parseControlPlaneJoinCommand(initStdout: string): ControlPlaneJoinCommand {
  const commands = [...initStdout.matchAll(/^\s*kubestrap join ((?:.*\\\n)*.*)$/gm)].map((m) => m[1]!.replace(/\\\n/g, ' '));
  const cp = commands.find((c) => /--control-plane/.test(c));
  if (!cp) throw new Error(`init printed no control-plane join command (was --control-plane-endpoint given?):\n${initStdout}`);
  const worker = parseJoinCommand(`kubestrap join ${cp.replace(/--control-plane(\s+--certificate-key\s+\S+)?/, '')}`);
  const key = /--certificate-key\s+(\S+)/.exec(cp)?.[1];
  return { ...worker, args: cp.split(/\s+/).filter(Boolean), ...(key ? { certificateKey: key } : {}) };
}

export interface EtcdMemberInfo {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

/** A join's result with every stdout line stamped with the ms since the start (where a join spends its time). */
export interface TimedCliResult extends CliResult {
  lines: { ms: number; line: string }[];
}

/** kubestrap in the node's namespace, stdout and stderr apart, each stdout line stamped. */
function kubestrapTimed(node: TestbedNode, args: readonly string[], timeoutMs: number): Promise<TimedCliResult> {
  const argv = [...node.launcher, process.execPath, path.join(REPO, 'bin/kubestrap.js'), ...args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '', partial: '', lines: [] as TimedCliResult['lines'] };
    child.stdout.on('data', (chunk: Buffer) => {
      out.stdout += chunk.toString('utf8');
      const parts = (out.partial + chunk.toString('utf8')).split('\n');
      out.partial = parts.pop() ?? '';
      for (const line of parts) out.lines.push({ ms: Math.round(performance.now() - t0), line });
    });
    child.stderr.on('data', (chunk: Buffer) => void (out.stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: out.stdout, stderr: out.stderr, lines: out.lines });
    });
  });
}

export interface JoinControlPlaneOptions {
  /** Instead of init's key (undefined = init's; '' = none: manual mode). */
  certificateKey?: string;
  /** A JoinConfiguration file instead of the flags (kubeadm: flags and --config do not mix). */
  config?: string;
  /** More join flags. */
  extraArgs?: readonly string[];
  timeoutMs?: number;
}

export interface HaClusterOptions {
  /** Control-plane nodes, the first runs init (default cp1, cp2, cp3). */
  controlPlanes?: readonly string[];
  /** Worker nodes (default w1): kubelet + containerd + private mounts. */
  workers?: readonly string[];
  /** The controlPlaneEndpoint (default: `<cp1's address>:6443`). */
  endpoint?: (bed: Testbed) => string | Promise<string>;
  /** Runs after the bed is up and before init (e.g. start a load balancer). */
  beforeInit?: (bed: Testbed) => Promise<void>;
  /** Join the other control planes and the workers in startHaCluster (default true). */
  join?: boolean;
  runtime?: ControlPlaneRuntime;
  /** More init flags. */
  initExtraArgs?: readonly string[];
  /** More bed nodes, neither initialized nor joined (e.g. `lb`, a load balancer's own namespace). */
  extraNodes?: readonly string[];
  /** More worker join flags (e.g. --node-local-lb; kubestrap's join only). */
  workerJoinArgs?: readonly string[];
  /** The Kubernetes version of every node (a prepared row; default: the suite's); kubestrap's join only. */
  version?: string;
}

export interface HaCluster {
  readonly bed: Testbed;
  readonly endpoint: string;
  /** cp1: init's node, admin.conf (its server is the endpoint). */
  readonly cp1: ControlPlane;
  readonly controlPlanes: readonly TestbedNode[];
  readonly workers: readonly TestbedNode[];
  readonly cpJoin: ControlPlaneJoinCommand;
  /** Wall ms of each step done so far (`init cp1`, `join cp2`, ...). */
  readonly timings: Record<string, number>;
  joinControlPlane(node: TestbedNode, options?: JoinControlPlaneOptions): Promise<TimedCliResult>;
  joinWorker(node: TestbedNode): Promise<LinesResult>;
  /** The path a worker's kubelet runs from (a link to the prepared kubelet of `version`). */
  kubeletLink(node: TestbedNode): string;
  kubectl(args: readonly string[]): Promise<string>;
  kubectlJson<T>(args: readonly string[]): Promise<T>;
  kubestrap(node: TestbedNode, args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  /** etcdctl in `via`'s network namespace (default cp1) with its healthcheck-client certificate, against its own etcd. */
  etcdctl(args: readonly string[], via?: TestbedNode): Promise<string>;
  members(via?: TestbedNode): Promise<EtcdMemberInfo[]>;
  /** `kubestrap reset` on a node (extra args e.g. --force); the result, never throws. */
  reset(node: TestbedNode, args?: readonly string[]): Promise<TimedCliResult>;
  stop(): Promise<string[]>;
}

/** `kubestrap join --control-plane` flags for `node` from the printed command. */
export function controlPlaneJoinArgs(
  node: TestbedNode,
  cmd: ControlPlaneJoinCommand,
  runtime: ControlPlaneRuntime,
  options: JoinControlPlaneOptions,
): string[] {
  const common = ['--rootfs', node.rootfs, '--runtime', runtime, ...(options.extraArgs ?? [])];
  if (options.config) return ['join', '--config', options.config, ...common];
  const key = options.certificateKey ?? cmd.certificateKey;
  return [
    'join',
    cmd.endpoint,
    '--token',
    cmd.token,
    ...cmd.caCertHashes.flatMap((h) => ['--discovery-token-ca-cert-hash', h]),
    '--control-plane',
    ...(key ? ['--certificate-key', key] : []),
    '--apiserver-advertise-address',
    node.ip,
    '--node-name',
    node.name,
    ...common,
  ];
}

export async function startHaCluster(options: HaClusterOptions = {}): Promise<HaCluster> {
  const cpNames = options.controlPlanes ?? ['cp1', 'cp2', 'cp3'];
  const workerNames = options.workers ?? ['w1'];
  const runtime = options.runtime ?? 'process';
  const comps = options.version ? componentsOf(options.version) : components();
  const bed = await startTestbed({
    nodes: [...cpNames, ...workerNames, ...(options.extraNodes ?? [])],
    containerd: workerNames.length > 0 || runtime === 'cri',
    containerdNodes: runtime === 'cri' ? undefined : workerNames,
    privateMounts: workerNames,
  });
  const controlPlanes = cpNames.map((n) => bed.node(n));
  const workers = workerNames.map((n) => bed.node(n));
  // a kubelet reports its Node Ready only once a CNI network is configured
  for (const w of workers) await enablePodNetwork(bed, w);
  const timings: Record<string, number> = {};
  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      timings[what] = Math.round(performance.now() - t0);
    }
  };
  let stopped: Promise<string[]> | undefined;
  const stop = (): Promise<string[]> =>
    (stopped ??= (async () => {
      const notes: string[] = [];
      try {
        // workers first, then the control planes in reverse; etcd membership does not matter any more
        for (const node of [...workers, ...controlPlanes].reverse()) {
          notes.push(...(await resetControlPlane(node).catch((err: unknown) => [`${node.name}: ${String(err)}`])));
        }
      } finally {
        await bed.stop();
      }
      return notes;
    })());
  try {
    await options.beforeInit?.(bed);
    const cp1Node = controlPlanes[0]!;
    const endpoint = options.endpoint ? await options.endpoint(bed) : `${cp1Node.ip}:6443`;
    const cp1 = await timed(`init ${cp1Node.name}`, () =>
      initControlPlane(cp1Node, {
        runtime,
        version: comps.kubernetesVersion,
        extraArgs: ['--upload-certs', '--control-plane-endpoint', endpoint, ...(options.initExtraArgs ?? [])],
      }),
    );
    const cpJoin = parseControlPlaneJoinCommand(cp1.initStdout);
    const run = (node: TestbedNode, args: readonly string[], timeoutMs?: number): Promise<CliResult> => kubestrap(args, timeoutMs, node.launcher);
    const certDir = (node: TestbedNode): string => path.join(node.rootfs, 'etc/kubernetes/pki/etcd');
    const etcdctl = async (args: readonly string[], via: TestbedNode = cp1Node): Promise<string> => {
      const argv = [
        ...via.launcher,
        comps.binaries.etcdctl.path,
        `--endpoints=https://${via.ip}:2379`,
        `--cacert=${certDir(via)}/ca.crt`,
        `--cert=${certDir(via)}/healthcheck-client.crt`,
        `--key=${certDir(via)}/healthcheck-client.key`,
        '--command-timeout=10s',
        ...args,
      ];
      return (await execFileAsync(argv[0]!, argv.slice(1), { timeout: 30_000 })).stdout;
    };
    const cluster: HaCluster = {
      bed,
      endpoint,
      cp1,
      controlPlanes,
      workers,
      cpJoin,
      timings,
      joinControlPlane: async (node, o = {}) => {
        // again: a reset (of a failed join) removes the staged binaries with /var/lib/kubestrap
        if (runtime === 'process') await stageImageBinaries(node.rootfs, comps);
        return timed(`join ${node.name}`, () => kubestrapTimed(node, controlPlaneJoinArgs(node, cpJoin, runtime, o), o.timeoutMs ?? 300_000));
      },
      joinWorker: async (node) =>
        timed(`join ${node.name}`, async () => {
          if (!options.version) return joinNode(await defaultJoiner(), node, cpJoin, { extraArgs: options.workerJoinArgs });
          await mkdir(path.dirname(kubeletLink(node)), { recursive: true });
          await pointLink(kubeletLink(node), comps.binaries.kubelet.path);
          return joinNode('kubestrap', node, cpJoin, { extraArgs: options.workerJoinArgs, kubeletPath: kubeletLink(node) });
        }),
      kubeletLink,
      kubectl: (args) => kubectl(cp1.adminConf, args),
      kubectlJson: <T>(args: readonly string[]) => kubectlJson<T>(cp1.adminConf, args),
      kubestrap: run,
      etcdctl,
      async members(via) {
        const out = JSON.parse(await etcdctl(['member', 'list', '-w', 'json', '--hex'], via)) as { members?: EtcdMemberInfo[] };
        return out.members ?? [];
      },
      reset: (node, args = []) => kubestrapTimed(node, ['reset', '--rootfs', node.rootfs, ...args], 120_000),
      stop,
    };
    if (options.join ?? true) {
      await cp1.waitForJoinToken();
      // one at a time: etcd takes one learner at a time, and 2 cores are shared
      for (const node of controlPlanes.slice(1)) {
        const res = await cluster.joinControlPlane(node);
        if (res.code !== 0) throw new Error(`join --control-plane on ${node.name} exited ${res.code}:\n${res.stderr}\n${res.stdout}`);
      }
      for (const node of workers) {
        const res = await cluster.joinWorker(node);
        if (res.code !== 0) throw new Error(`join on ${node.name} exited ${res.code}:\n${res.output}`);
      }
    }
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Where a worker's kubelet runs from when the cluster has a `version`. */
const kubeletLink = (node: TestbedNode): string => path.join(node.dir, 'bin/kubelet');

/** Points `link` at `target` atomically (a new link renamed over the old: a running binary keeps its file). */
export async function pointLink(link: string, target: string): Promise<void> {
  const tmp = `${link}.new`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, link);
}

/** The nodes that have the control-plane role label. */
export function controlPlaneNodeNames(nodes: readonly V1Node[]): string[] {
  return nodes
    .filter((n) => n.metadata?.labels?.['node-role.kubernetes.io/control-plane'] !== undefined)
    .map((n) => n.metadata!.name!)
    .sort();
}
