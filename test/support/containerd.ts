/**
 * A private containerd for one test run — Debian's 1.x or the harness-built 2.x
 * ($KUBESTRAP_CONTAINERD or the `containerd` option) — its own root, state, socket and config in a temp dir,
 * the CRI plugin configured for this machine (no CAP_SYS_RESOURCE → restrict_oom_score_adj;
 * hostNetwork pods only → an empty CNI dir; the locally built pause image as sandbox image), the
 * test images imported into the k8s.io namespace. stop() removes every trace: containers and
 * sandboxes, shims, mounts under the temp dir, the dir itself.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { criClient, type CriClient } from '../../src/cri/client.js';
import { components, containerdBuild, DEFAULT_IMAGES, suiteContainerd, type Components, type ContainerdChoice, type ImageName } from './components.js';
import { mountPointsUnder } from './mounts.js';
import { startProcess, waitFor, type Proc } from './proc.js';

const exec = promisify(execFile);

export type Snapshotter = 'overlayfs' | 'native';

export interface ContainerdOptions {
  /** Which containerd: 1 = Debian's (the machine's), 2 = the one prepare builds (default: $KUBESTRAP_CONTAINERD, else 1). */
  containerd?: ContainerdChoice;
  /** Images to import (default: DEFAULT_IMAGES, the control plane's); pause, the sandbox image, always is. */
  images?: ImageName[];
  /** Whose images (default: the suite version's, components()); an upgrade test starts from the previous minor's. */
  components?: Components;
  /** Force a snapshotter (default: overlayfs when an overlay mount works here, else native). */
  snapshotter?: Snapshotter;
  /** Its directory (created; removed by stop()); default: a new temp dir. Keep it short: the socket lives in it. */
  dir?: string;
  /**
   * A command line containerd is started through, e.g. `['nsenter', '--net=/run/netns/x', '--']`
   * to run it in a test bed node's network namespace (testbed.ts); default: none.
   */
  launcher?: readonly string[];
}

export interface PrivateContainerd {
  readonly dir: string;
  readonly socket: string;
  /** `unix://<socket>`, for the CRI client. */
  readonly endpoint: string;
  readonly logFile: string;
  readonly snapshotter: Snapshotter;
  readonly majorVersion: number;
  /** The containerd binary that runs. */
  readonly binary: string;
  /** `containerd --version` of the binary that runs. */
  readonly versionLine: string;
  /** The config file it runs with (format version 2 for 1.x, 3 for 2.x). */
  readonly configFile: string;
  /** A CRI client on this containerd (closed by stop()). */
  readonly cri: CriClient;
  /** Runs `ctr --address <socket> -n k8s.io <args>`; resolves with stdout. */
  ctr(args: readonly string[]): Promise<string>;
  importImage(tarball: string): Promise<void>;
  /** Stops and removes every CRI container and sandbox, then any other task, in the k8s.io namespace. */
  removeAll(): Promise<void>;
  stop(): Promise<void>;
}

/** containerd's major version from `containerd --version` (its config format depends on it). */
export function containerdMajor(versionLine: string): number {
  const m = /\s(?:v)?(\d+)\.(\d+)\.\d+/.exec(versionLine);
  if (!m) throw new Error(`cannot parse containerd version from "${versionLine}"`);
  return Number(m[1]);
}

const toml = (s: string): string => JSON.stringify(s);

interface ConfigInput {
  dir: string;
  socket: string;
  sandboxImage: string;
  snapshotter: Snapshotter;
  runcPath: string;
}

/** containerd 1.x config (format version 2). */
export function configV2(c: ConfigInput): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${toml(path.join(c.dir, 'root'))}
state = ${toml(path.join(c.dir, 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${toml(c.socket)}
[ttrpc]
  address = ${toml(`${c.socket}.ttrpc`)}
[debug]
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${toml(path.join(c.dir, 'opt'))}

[${cri}]
  sandbox_image = ${toml(c.sandboxImage)}
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [${cri}.containerd]
    snapshotter = ${toml(c.snapshotter)}
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = ${toml(c.runcPath)}
        Root = ${toml(path.join(c.dir, 'state', 'runc'))}
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = ${toml(path.join(c.dir, 'cni', 'bin'))}
    conf_dir = ${toml(path.join(c.dir, 'cni', 'net.d'))}
`;
}

/** containerd 2.x config (format version 3: CRI split into images/runtime plugins). */
export function configV3(c: ConfigInput): string {
  const images = 'plugins."io.containerd.cri.v1.images"';
  const runtime = 'plugins."io.containerd.cri.v1.runtime"';
  return `version = 3
root = ${toml(path.join(c.dir, 'root'))}
state = ${toml(path.join(c.dir, 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing", "io.containerd.nri.v1.nri"]

[grpc]
  address = ${toml(c.socket)}
[ttrpc]
  address = ${toml(`${c.socket}.ttrpc`)}
[debug]
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${toml(path.join(c.dir, 'opt'))}

[${images}]
  snapshotter = ${toml(c.snapshotter)}
  [${images}.pinned_images]
    sandbox = ${toml(c.sandboxImage)}

[${runtime}]
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  [${runtime}.containerd]
    default_runtime_name = "runc"
    [${runtime}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${runtime}.containerd.runtimes.runc.options]
        BinaryName = ${toml(c.runcPath)}
        Root = ${toml(path.join(c.dir, 'state', 'runc'))}
        SystemdCgroup = false
  [${runtime}.cni]
    bin_dirs = [${toml(path.join(c.dir, 'cni', 'bin'))}]
    conf_dir = ${toml(path.join(c.dir, 'cni', 'net.d'))}

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

let overlayResult: boolean | undefined;

/** Whether an overlay mount works in `dir`'s file system (it may not inside some sandboxes). */
export async function overlayWorks(dir: string): Promise<boolean> {
  if (overlayResult !== undefined) return overlayResult;
  const base = path.join(dir, 'overlay-probe');
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(base, d)) as [string, string, string, string];
  try {
    for (const d of [lower, upper, work, merged]) await mkdir(d, { recursive: true });
    await writeFile(path.join(lower, 'f'), 'x');
    await exec('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    overlayResult = (await readFile(path.join(merged, 'f'), 'utf8')) === 'x';
    await exec('umount', [merged]);
  } catch {
    overlayResult = false;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return overlayResult;
}

/** Mount points at or below `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  return mountPointsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir);
}

/** PIDs whose command line mentions `needle` (the shims of our containerd name its socket). */
async function pidsMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

/** Short name used by the agent's tests. */
export type Containerd = PrivateContainerd;

interface ContainerdBinaries {
  containerd: string;
  ctr: string;
  versionLine: string;
  /** containerd's environment: a built 2.x must find its own shim before Debian's on PATH. */
  env: NodeJS.ProcessEnv;
}

/** The binaries of the chosen containerd; runc is Debian's for both. */
function containerdBinaries(comps: Components, choice: ContainerdChoice): ContainerdBinaries {
  if (choice === 1) return { containerd: comps.containerd.path, ctr: comps.ctr.path, versionLine: comps.containerd.version, env: process.env };
  const build = containerdBuild();
  return {
    containerd: build.binaries.containerd.path,
    ctr: build.binaries.ctr.path,
    versionLine: build.binaries.containerd.version,
    env: { ...process.env, PATH: `${build.binDir}${path.delimiter}${process.env.PATH ?? ''}` },
  };
}

export async function startContainerd(options: ContainerdOptions = {}): Promise<PrivateContainerd> {
  const comps: Components = options.components ?? components();
  const bins = containerdBinaries(comps, options.containerd ?? suiteContainerd());
  const major = containerdMajor(bins.versionLine);
  // Short path: unix socket paths are limited to 108 bytes.
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'ctrd-'));
  await mkdir(dir, { recursive: true });
  const socket = path.join(dir, 'containerd.sock');
  const logFile = path.join(dir, 'containerd.log');
  const snapshotter: Snapshotter = options.snapshotter ?? ((await overlayWorks(dir)) ? 'overlayfs' : 'native');
  await mkdir(path.join(dir, 'cni', 'net.d'), { recursive: true });
  await mkdir(path.join(dir, 'cni', 'bin'), { recursive: true });
  const input: ConfigInput = { dir, socket, sandboxImage: comps.images.pause.ref, snapshotter, runcPath: comps.runc.path };
  const configFile = path.join(dir, 'config.toml');
  await writeFile(configFile, major >= 2 ? configV3(input) : configV2(input));

  const ctr = async (args: readonly string[]): Promise<string> => {
    const { stdout } = await exec(bins.ctr, ['--address', socket, '-n', 'k8s.io', ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };

  let proc: Proc | undefined;
  let cri: CriClient | undefined;
  const taskIds = new Set<string>();

  const removeAll = async (): Promise<void> => {
    if (!cri) return;
    const { containers } = await cri.runtime.listContainers({}).catch(() => ({ containers: [] }));
    for (const c of containers) {
      await cri.runtime.stopContainer({ containerId: c.id, timeout: 0 }).catch(() => undefined);
      await cri.runtime.removeContainer({ containerId: c.id }).catch(() => undefined);
    }
    const { items } = await cri.runtime.listPodSandbox({}).catch(() => ({ items: [] }));
    for (const s of items) {
      taskIds.add(s.id);
      await cri.runtime.stopPodSandbox({ podSandboxId: s.id }).catch(() => undefined);
      await cri.runtime.removePodSandbox({ podSandboxId: s.id }).catch(() => undefined);
    }
    // anything started outside the CRI (ctr run ...)
    const tasks = (await ctr(['tasks', 'ls', '-q']).catch(() => '')).split('\n').filter(Boolean);
    for (const id of tasks) {
      taskIds.add(id);
      await ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
      await ctr(['tasks', 'rm', '-f', id]).catch(() => undefined);
      await ctr(['containers', 'rm', id]).catch(() => undefined);
    }
  };

  const stop = async (): Promise<void> => {
    try {
      await removeAll().catch(() => undefined);
      cri?.close();
      await proc?.stop(10_000);
    } finally {
      // shims outlive containerd by design (they re-parent); ours name our socket on their command line
      for (const pid of await pidsMentioning(socket)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      // a killed shim leaves its socket in containerd's fixed socket dir; the name is derived from ours
      for (const id of taskIds) {
        const hash = createHash('sha256')
          .update(path.join(socket, 'k8s.io', id))
          .digest('hex');
        await rm(path.join('/run/containerd/s', hash), { force: true });
      }
      for (const point of await mountsUnder(dir)) {
        await exec('umount', ['-l', point]).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  };

  try {
    const [command = bins.containerd, ...args] = [...(options.launcher ?? []), bins.containerd, '--config', configFile];
    proc = await startProcess('containerd', command, args, { logFile, env: bins.env });
    const started = proc;
    await waitFor(
      `containerd socket ${socket} (log: ${logFile})`,
      async () => {
        if (!started.running()) throw new Error(`containerd exited; see ${logFile}`);
        await ctr(['version']);
        return true;
      },
      30_000,
      200,
    );
    cri = criClient(`unix://${socket}`, { timeoutMs: 60_000 });
    const names = new Set<ImageName>(options.images ?? DEFAULT_IMAGES);
    names.add('pause');
    const pc: PrivateContainerd = {
      dir,
      socket,
      endpoint: `unix://${socket}`,
      logFile,
      snapshotter,
      majorVersion: major,
      binary: bins.containerd,
      versionLine: bins.versionLine,
      configFile,
      cri,
      ctr,
      importImage: async (tarball) => {
        await ctr(['images', 'import', '--snapshotter', snapshotter, tarball]);
      },
      removeAll,
      stop,
    };
    for (const name of names) await pc.importImage(comps.images[name].tarball);
    return pc;
  } catch (err) {
    const tail = await readFile(logFile, 'utf8').catch(() => '');
    await stop();
    const last = tail.trim().split('\n').slice(-5).join('\n');
    throw new Error(`private containerd failed: ${err instanceof Error ? err.message : String(err)}\n${last}`);
  }
}
