/**
 * The CRI client against a real (private) containerd: version/status/images, a hostNetwork pod
 * sandbox with the local pause image, and a long-running etcd container from the etcd image with
 * a hostPath data dir; exec, status, container events, stop and removal, all cleaned up.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ContainerEventResponse, PodSandboxConfig } from '../../src/cri/client.js';
import type { Input } from '../../src/cri/types.js';
import { components } from '../support/components.js';
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

test('version, status and the imported images', { skip: !isRoot && 'needs root' }, async () => {
  const cri = ctrd!.cri;
  const version = await cri.runtime.version({ version: 'v1' });
  assert.equal(version.runtimeName, 'containerd');
  assert.equal(version.runtimeApiVersion, 'v1');
  console.log(`# containerd ${version.runtimeVersion}, snapshotter ${ctrd!.snapshotter}`);

  const status = await cri.runtime.status({});
  const ready = status.status?.conditions.find((c) => c.type === 'RuntimeReady');
  assert.equal(ready?.status, true, JSON.stringify(status.status));

  const { images } = await cri.image.listImages({});
  const tags = images.flatMap((i) => i.repoTags);
  for (const image of Object.values(components().images)) assert.ok(tags.includes(image.ref), `${image.ref} in ${tags.join(', ')}`);
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
    assert.deepEqual(containers.map((c) => c.id), [containerId]);

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
      await waitFor('container events', async () => {
        if (streamError) throw streamError;
        const types = events.filter((e) => e.containerId === containerId).map((e) => e.containerEventType);
        return types.includes('CONTAINER_STARTED_EVENT') && types.includes('CONTAINER_STOPPED_EVENT') ? types : undefined;
      }, 10_000);
    }
  } finally {
    stream.cancel();
    await cri.runtime.stopPodSandbox({ podSandboxId });
    await cri.runtime.removePodSandbox({ podSandboxId });
  }
  const { items } = await cri.runtime.listPodSandbox({});
  assert.equal(items.length, 0);
});
