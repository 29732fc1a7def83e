/**
 * A real control plane for integration tests, without the agent: init's certs, kubeconfig, etcd
 * and control-plane phases write a rootfs, then the components run as plain processes from the
 * manifests on disk. Host paths in flags are mapped under the rootfs through the pods' hostPath
 * volumes, and every port is moved off the defaults (the manifests on disk are rewritten to match),
 * so a test never collides with a real cluster or another test's on this machine.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { InitFlags } from '../../src/config/flags.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { Host } from '../../src/host/host.js';
import { InitData } from '../../src/phases/init/data.js';
import { INIT_PHASES } from '../../src/phases/init/index.js';
import { memoryPrinter } from '../../src/output.js';
import { Runner } from '../../src/phases/runner.js';
import { probeOnce } from '../../src/net/http-probe.js';
import { components, suiteRelease, type BinaryName } from './components.js';
import { testConfig } from './config-fixture.js';
import { startProcess, waitFor, waitPortsFree, type Proc } from './proc.js';

export type ComponentName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export interface ControlPlaneOptions {
  /** Which components to run (default: etcd and kube-apiserver). */
  run?: ComponentName[];
  /** Added to every default port (2379→2379+offset, 6443→6443+offset, ...). Default 10000. */
  portOffset?: number;
  flags?: Partial<InitFlags>;
}

export interface ControlPlane {
  rootfs: string;
  host: Host;
  config: ResolvedConfig;
  ctx: InitData;
  procs: Map<ComponentName, Proc>;
  /** https://127.0.0.1:<port> */
  apiserverURL: string;
  ports: Record<'etcdClient' | 'etcdPeer' | 'etcdMetrics' | 'apiserver' | 'controllerManager' | 'scheduler', number>;
  /** Host path of a kubeconfig, e.g. admin.conf. */
  kubeconfig(name: 'admin' | 'super-admin' | 'kubelet' | 'controller-manager' | 'scheduler'): string;
  /** Starts a component from its manifest on disk (after a test changed it, say). */
  start(name: ComponentName): Promise<Proc>;
  /** Stops every process and removes the rootfs. */
  stop(): Promise<void>;
}

const DEFAULT_PORTS = { etcdClient: 2379, etcdPeer: 2380, etcdMetrics: 2381, apiserver: 6443, controllerManager: 10257, scheduler: 10259 };

/** Replaces the default ports in flag values and adds --secure-port where the default is implied. */
function remapContainer(c: V1Container, name: ComponentName, ports: ControlPlane['ports']): void {
  const table: [number, number][] = [
    [DEFAULT_PORTS.etcdClient, ports.etcdClient],
    [DEFAULT_PORTS.etcdPeer, ports.etcdPeer],
    [DEFAULT_PORTS.etcdMetrics, ports.etcdMetrics],
    [DEFAULT_PORTS.controllerManager, ports.controllerManager],
    [DEFAULT_PORTS.scheduler, ports.scheduler],
  ];
  const remap = (arg: string): string => table.reduce((a, [from, to]) => a.replace(new RegExp(`:${from}\\b`, 'g'), `:${to}`), arg);
  c.command = (c.command ?? []).map(remap);
  const extraPort = name === 'kube-controller-manager' ? ports.controllerManager : name === 'kube-scheduler' ? ports.scheduler : undefined;
  if (extraPort !== undefined && !c.command.some((a) => a.startsWith('--secure-port='))) c.command.push(`--secure-port=${extraPort}`);
  const num = (p: number): number => table.find(([from]) => from === p)?.[1] ?? p;
  for (const p of c.ports ?? []) p.containerPort = num(p.containerPort);
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (probe?.httpGet && typeof probe.httpGet.port === 'number') probe.httpGet.port = num(probe.httpGet.port);
  }
}

/** The command line with container paths replaced by their rootfs host paths (hostPath volumes). */
function hostCommand(pod: V1Pod, host: Host): string[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v.hostPath?.path]));
  const mounts = (pod.spec?.containers?.[0]?.volumeMounts ?? [])
    .map((m) => ({ from: m.mountPath, to: volumes.get(m.name) }))
    .filter((m): m is { from: string; to: string } => Boolean(m.to))
    .sort((a, b) => b.from.length - a.from.length);
  const c = pod.spec!.containers[0]!;
  return [...(c.command ?? []), ...(c.args ?? [])].map((arg) => {
    for (const m of mounts) {
      const re = new RegExp(`(^|[=,])${m.from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|,)`, 'g');
      if (re.test(arg)) return arg.replace(re, `$1${host.path(m.to)}`);
    }
    return arg;
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const offset = options.portOffset ?? 10_000;
  const ports = Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, v + offset])) as ControlPlane['ports'];
  await waitPortsFree(Object.values(ports));
  const rootfs = await mkdtemp(path.join(os.tmpdir(), 'kubestrap-cp-'));
  const host = new Host(rootfs);
  const config = testConfig({ apiserverBindPort: String(ports.apiserver), kubernetesVersion: suiteRelease().version, ...options.flags });
  const ctx = new InitData({ config, host, out: memoryPrinter(), dryRun: false, uploadCerts: false });
  const procs = new Map<ComponentName, Proc>();
  const binaries = components().binaries;

  const manifestFile = (name: ComponentName): string => path.posix.join(config.paths.manifestsDir, `${name}.yaml`);
  const start = async (name: ComponentName): Promise<Proc> => {
    const pod = parse(await host.readText(manifestFile(name))) as V1Pod;
    const [binary, ...args] = hostCommand(pod, host);
    const proc = await startProcess(name, binaries[binary as BinaryName]?.path ?? binary!, args, {
      logFile: path.join(rootfs, 'logs', `${name}.log`),
    });
    procs.set(name, proc);
    return proc;
  };
  const stop = async (): Promise<void> => {
    // The API server first: it must not outlive etcd and log a storm of errors.
    const order: ComponentName[] = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    for (const n of order) await procs.get(n)?.stop(5000);
    procs.clear();
    await rm(rootfs, { recursive: true, force: true });
  };

  try {
    const wanted = new Set(['certs', 'kubeconfig', 'etcd', 'control-plane']);
    await new Runner(INIT_PHASES.filter((p) => wanted.has(p.name))).run(ctx);
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
      const pod = parse(await host.readText(manifestFile(name))) as V1Pod;
      remapContainer(pod.spec!.containers[0]!, name, ports);
      await host.writeFile(manifestFile(name), stringify(pod), 0o600);
    }
    for (const name of options.run ?? ['etcd', 'kube-apiserver']) await start(name);
    const apiserverURL = `https://127.0.0.1:${ports.apiserver}`;
    if (procs.has('kube-apiserver')) {
      await waitFor('kube-apiserver /readyz', async () => ((await probeOnce(`${apiserverURL}/readyz`)) ? true : undefined), 90_000, 200);
    }
    return {
      rootfs,
      host,
      config,
      ctx,
      procs,
      apiserverURL,
      ports,
      kubeconfig: (name) => path.posix.join(config.paths.kubernetesDir, `${name}.conf`),
      start,
      stop,
    };
  } catch (err) {
    for (const p of procs.values()) await p.stop(2000).catch(() => undefined);
    const logs = await Promise.all(
      [...procs.keys()].map(async (n) => `--- ${n}:\n${(await host.readText(`/logs/${n}.log`).catch(() => '')).split('\n').slice(-15).join('\n')}`),
    );
    await rm(rootfs, { recursive: true, force: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs.join('\n')}`);
  }
}
