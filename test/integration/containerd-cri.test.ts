/**
 * The CRI client against a real (private) containerd — Debian's 1.x, or the built 2.x through
 * containerd-cri-containerd2.test.ts: the config it runs with, version/status/images, a hostNetwork pod
 * sandbox with the local pause image, and a long-running etcd container from the etcd image with
 * a hostPath data dir; exec, status, container events, stop and removal, all cleaned up.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { ContainerEventResponse, PodSandboxConfig } from '../../src/cri/client.js';
import { containerdSupportWarning, parseRuntimeVersion } from '../../src/cri/runtime-version.js';
import type { Input } from '../../src/cri/types.js';
import { systemFacts } from '../../src/phases/init/preflight.js';
import { components, DEFAULT_IMAGES } from '../support/components.js';
import { startContainerd, type PrivateContainerd } from '../support/containerd.js';
import { waitFor } from '../support/proc.js';

const isRoot = process.getuid?.() === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

let ctrd: PrivateContainerd | undefined;
const work = mkdtempSync(path.join(os.tmpdir(), 'cri-test-'));

before(async () => {
  if (isRoot) ctrd = await startContainerd();
});

after(async () => {
  const dir = ctrd?.dir;
  await ctrd?.stop();
  await rm(work, { recursive: true, force: true });
  if (dir) assert.equal(existsSync(dir), false, 'containerd temp dir removed');
});

/** The CRI plugin's config as `Status(verbose)` reports it: these keys are the same in 1.6 and 2.x. */
interface CriPluginConfig {
  restrictOOMScoreAdj: boolean;
  disableApparmor: boolean;
  enableSelinux: boolean;
  containerd: { defaultRuntimeName: string; runtimes: Record<string, { runtimeType: string; options: Record<string, unknown> }>; snapshotter?: string };
  cni: { confDir: string };
  /** 1.x only: 2.x has the image settings in its own plugin (io.containerd.cri.v1.images). */
  sandboxImage?: string;
}

/** `key = value` of one table in `containerd config dump` output (2.x: single quotes), undefined when absent. */
function dumpValue(dump: string, table: string, key: string): string | undefined {
  const lines = dump.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[${table}]`);
  if (start < 0) return undefined;
  for (const line of lines.slice(start + 1)) {
    const t = line.trim();
    if (t.startsWith('[')) return undefined; // the next table
    const m = /^(\S+) = ['"]?(.*?)['"]?$/.exec(t);
    if (m?.[1] === key) return m[2];
  }
  return undefined;
}

test('containerd runs with the config written for its version (format 2 for 1.x, 3 for 2.x)', { skip: !isRoot && 'needs root' }, async () => {
  const c = ctrd!;
  const comps = components();
  const written = await readFile(c.configFile, 'utf8');
  assert.match(written, new RegExp(`^version = ${c.majorVersion >= 2 ? 3 : 2}\n`));
  const { info } = await c.cri.runtime.status({ verbose: true });
  const config = JSON.parse(info.config ?? '{}') as CriPluginConfig;
  assert.equal(config.restrictOOMScoreAdj, true, 'restrict_oom_score_adj: no CAP_SYS_RESOURCE on this machine');
  assert.equal(config.disableApparmor, true);
  assert.equal(config.enableSelinux, false);
  assert.equal(config.containerd.defaultRuntimeName, 'runc');
  const runc = config.containerd.runtimes.runc;
  assert.equal(runc?.runtimeType, 'io.containerd.runc.v2');
  assert.equal(runc?.options.BinaryName, comps.runc.path);
  assert.equal(runc?.options.Root, path.join(c.dir, 'state', 'runc'));
  assert.equal(runc?.options.SystemdCgroup, false);
  assert.equal(config.cni.confDir, path.join(c.dir, 'cni', 'net.d'));
  if (c.majorVersion >= 2) {
    // the images plugin's settings, after containerd's own migration of format 3 to its current one
    const { stdout: dump } = await promisify(execFile)(c.binary, ['--config', c.configFile, 'config', 'dump'], { maxBuffer: 4 * 1024 * 1024 });
    assert.equal(dumpValue(dump, "plugins.'io.containerd.cri.v1.images'", 'snapshotter'), c.snapshotter);
    assert.equal(dumpValue(dump, "plugins.'io.containerd.cri.v1.images'.pinned_images", 'sandbox'), comps.images.pause.ref);
    assert.equal(dumpValue(dump, "plugins.'io.containerd.cri.v1.runtime'", 'restrict_oom_score_adj'), 'true');
  } else {
    assert.equal(config.containerd.snapshotter, c.snapshotter);
    assert.equal(config.sandboxImage, comps.images.pause.ref);
  }
});

test('version, status and the imported images', { skip: !isRoot && 'needs root' }, async () => {
  const cri = ctrd!.cri;
  const version = await cri.runtime.version({ version: 'v1' });
  assert.equal(version.runtimeName, 'containerd');
  assert.equal(version.runtimeApiVersion, 'v1');
  assert.equal(parseRuntimeVersion(version.runtimeVersion)?.major, ctrd!.majorVersion, `${version.runtimeVersion} is the containerd started`);
  console.log(`# containerd ${version.runtimeVersion}, snapshotter ${ctrd!.snapshotter}`);
  // preflight asks the same question through its own client, and warns about 1.x only
  assert.deepEqual(await systemFacts.criVersion(ctrd!.endpoint), version);
  assert.equal(containerdSupportWarning(version) !== undefined, ctrd!.majorVersion < 2);

  const status = await cri.runtime.status({});
  const ready = status.status?.conditions.find((c) => c.type === 'RuntimeReady');
  assert.equal(ready?.status, true, JSON.stringify(status.status));

  const { images } = await cri.image.listImages({});
  const tags = images.flatMap((i) => i.repoTags);
  for (const image of DEFAULT_IMAGES.map((name) => components().images[name])) assert.ok(tags.includes(image.ref), `${image.ref} in ${tags.join(', ')}`);
  const etcd = await cri.image.imageStatus({ image: { image: components().images.etcd.ref } });
  assert.ok(etcd.image && etcd.image.size > 0);
  const missing = await cri.image.imageStatus({ image: { image: 'registry.k8s.io/not-there:v0' } });
  assert.equal(missing.image, null);
});

test('hostNetwork sandbox + etcd container: run, exec, status, events, stop, remove', { skip: !isRoot && 'needs root' }, async () => {
  const cri = ctrd!.cri;
  const comps = components();
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = path.join(work, 'etcd-data');
  const logDir = path.join(work, 'pods', 'kube-system_etcd-test');
  const sandboxConfig: Input<PodSandboxConfig> = {
    metadata: { name: 'etcd-test', uid: randomUUID(), namespace: 'kube-system', attempt: 0 },
    // no hostname: a hostNetwork pod has no UTS namespace of its own (kubelet leaves it empty too)
    logDirectory: logDir,
    labels: { 'io.kubernetes.pod.name': 'etcd-test' },
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };

  const events: ContainerEventResponse[] = [];
  const stream = cri.runtime.getContainerEvents();
  stream.on('data', (e: ContainerEventResponse) => events.push(e));
  let streamError: (Error & { code?: number }) | undefined;
  stream.on('error', (err: Error & { code?: number }) => (streamError = err)); // also: cancelled at the end

  const { podSandboxId } = await cri.runtime.runPodSandbox({ config: sandboxConfig });
  try {
    const sandbox = await cri.runtime.podSandboxStatus({ podSandboxId });
    assert.equal(sandbox.status?.state, 'SANDBOX_READY');
    assert.equal(sandbox.status?.linux?.namespaces?.options?.network, 'NODE');

    const { containerId } = await cri.runtime.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'etcd', attempt: 0 },
        image: { image: comps.images.etcd.ref },
        command: ['etcd'],
        args: [
          '--name=default',
          '--data-dir=/var/lib/etcd',
          `--listen-client-urls=http://127.0.0.1:${clientPort}`,
          `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
        ],
        mounts: [{ containerPath: '/var/lib/etcd', hostPath: dataDir }],
        logPath: 'etcd/0.log',
        labels: { 'io.kubernetes.container.name': 'etcd' },
      },
    });
    await cri.runtime.startContainer({ containerId });

    const readyz = await waitFor(
      `etcd /readyz on ${clientPort}`,
      async () => {
        const res = await fetch(`http://127.0.0.1:${clientPort}/readyz`);
        return res.ok ? res.text() : undefined;
      },
      60_000,
    );
    assert.equal(readyz.trim(), 'ok');

    const running = await cri.runtime.containerStatus({ containerId });
    assert.equal(running.status?.state, 'CONTAINER_RUNNING');
    assert.ok((running.status?.startedAt ?? 0) > 0);
    assert.equal(running.status?.image?.image, comps.images.etcd.ref);
    assert.equal(running.status?.mounts[0]?.hostPath, dataDir);
    assert.ok(existsSync(path.join(dataDir, 'member')), 'etcd wrote its data through the hostPath mount');

    const exec = await cri.runtime.execSync({ containerId, cmd: ['etcd', '--version'], timeout: 30 });
    assert.equal(exec.exitCode, 0, exec.stderr.toString());
    assert.match(exec.stdout.toString(), new RegExp(`etcd Version: ${comps.etcdVersion.replace(/\./g, '\\.')}`));

    const { containers } = await cri.runtime.listContainers({ filter: { podSandboxId } });
    assert.deepEqual(
      containers.map((c) => c.id),
      [containerId],
    );

    await cri.runtime.stopContainer({ containerId, timeout: 10 });
    const stopped = await cri.runtime.containerStatus({ containerId });
    assert.equal(stopped.status?.state, 'CONTAINER_EXITED');
    assert.ok((stopped.status?.finishedAt ?? 0) >= (stopped.status?.startedAt ?? 0));

    const log = await readFile(path.join(logDir, 'etcd/0.log'), 'utf8');
    // CRI log format: <RFC3339Nano> <stream> <P|F> <message>
    assert.match(log.split('\n')[0] ?? '', /^\S+Z? (stdout|stderr) [PF] /);

    await cri.runtime.removeContainer({ containerId });
    // containerd < 1.7 does not implement the event stream (evented PLEG came in 1.7): UNIMPLEMENTED
    const UNIMPLEMENTED = 12;
    if (streamError?.code === UNIMPLEMENTED) {
      console.log(`# GetContainerEvents: not implemented by containerd ${ctrd!.majorVersion}.x (${streamError.message})`);
    } else {
      await waitFor(
        'container events',
        async () => {
          if (streamError) throw streamError;
          const types = events.filter((e) => e.containerId === containerId).map((e) => e.containerEventType);
          return types.includes('CONTAINER_STARTED_EVENT') && types.includes('CONTAINER_STOPPED_EVENT') ? types : undefined;
        },
        10_000,
      );
    }
  } finally {
    stream.cancel();
    await cri.runtime.stopPodSandbox({ podSandboxId });
    await cri.runtime.removePodSandbox({ podSandboxId });
  }
  const { items } = await cri.runtime.listPodSandbox({});
  assert.equal(items.length, 0);
});
