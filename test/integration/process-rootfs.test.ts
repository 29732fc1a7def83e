/**
 * The process runtime with a --rootfs other than '/' never writes outside it (needs root: unshare +
 * mount): mountPaths below directories missing on the real host (/etc/kubestrap-test-<random>/...,
 * /var/lib/kubestrap-test-<random>/...) are created only inside the container's namespace, which
 * sees the rootfs content there; the real host is watched (inotify + polling) the whole time. Also
 * the tmpfs fallback shadow, and the mount set of init's real control-plane manifests.
 */
import { ANNOTATION_START_AFTER as START_AFTER_ANNOTATION } from '../../src/agent/annotations.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { execa } from 'execa';
import type { PodState, StaticPod } from '../../src/agent/pod-types.js';
import { ProcessRuntime } from '../../src/agent/runtime/process.js';
import { mountScript, prepareMounts } from '../../src/agent/runtime/process/mounts.js';
import { PodWorkers } from '../../src/agent/workers/index.js';
import { Host } from '../../src/host/host.js';
import { renderControlPlaneManifests } from '../../src/manifests/index.js';
import { testConfig } from '../support/config-fixture.js';
import { killLeftoverContainers } from '../support/process-leftovers.js';
import { until } from '../support/until.js';

const root = process.getuid?.() === 0;
const rnd = randomBytes(4).toString('hex');
const etcDir = `/etc/kubestrap-test-${rnd}`;
const varDir = `/var/lib/kubestrap-test-${rnd}`;
/** Host paths the control-plane manifests mount that may be missing on this host. */
const CONTROL_PLANE_PATHS = ['/etc/kubernetes', '/var/lib/etcd', '/usr/libexec/kubernetes', '/etc/pki'];

let dir = '';
let rootfs = '';
let host: Host;
const workerSets: PodWorkers[] = [];

/**
 * Watches the real host for the given paths: inotify on their nearest existing ancestors (records
 * any creation of the missing component) plus polling, so a path that exists only for a moment is
 * seen too.
 */
class HostWatch {
  readonly seen: string[] = [];
  private readonly watchers: FSWatcher[] = [];
  private readonly poll: NodeJS.Timeout;

  constructor(private readonly paths: readonly string[]) {
    for (const p of paths) {
      let child = p;
      let parent = path.dirname(p);
      while (!existsSync(parent)) [child, parent] = [parent, path.dirname(parent)];
      const name = path.basename(child);
      const w = watch(parent, (_event, file) => {
        if (file === name) this.seen.push(`inotify: ${path.join(parent, name)}`);
      });
      this.watchers.push(w);
    }
    this.poll = setInterval(() => this.check(), 20);
  }

  private check(): void {
    for (const p of this.paths) if (existsSync(p)) this.seen.push(`exists: ${p}`);
  }

  close(): void {
    this.check();
    clearInterval(this.poll);
    for (const w of this.watchers) w.close();
  }
}

async function fakeImage(image: string, name: string, script: string): Promise<void> {
  const at = image.lastIndexOf(':');
  const d = path.join(rootfs, 'var/lib/kubestrap/images', image.slice(0, at), image.slice(at + 1));
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, name), `#!/bin/sh\n${script}\n`);
  await chmod(path.join(d, name), 0o755);
}

async function put(hostPath: string, content: string): Promise<void> {
  await mkdir(path.dirname(host.path(hostPath)), { recursive: true });
  await writeFile(host.path(hostPath), content);
}

function staticPod(pod: V1Pod, uid: string): StaticPod {
  const name = `${pod.metadata!.name}-node1`;
  const withId: V1Pod = { ...pod, metadata: { ...pod.metadata, name, namespace: 'kube-system', uid } };
  return { uid, name, namespace: 'kube-system', source: 'file', origin: `/etc/kubernetes/manifests/${pod.metadata!.name}.yaml`, hash: uid, pod: withId };
}

function newWorkers(): PodWorkers {
  const w = new PodWorkers({ runtime: new ProcessRuntime(host), host, nodeName: 'node1', nodeIP: '127.0.0.1' });
  workerSets.push(w);
  return w;
}

function stateOf(w: PodWorkers, pod: StaticPod): PodState | undefined {
  return w.states().find((s) => s.pod.uid === pod.uid);
}

function containerId(s: PodState | undefined): string | undefined {
  const c = s?.status.containerStatuses?.[0];
  return c?.state?.running && c.containerID ? c.containerID.replace('process://', '') : undefined;
}

async function logOf(pod: StaticPod, container: string): Promise<string> {
  return readFile(path.join(rootfs, 'var/log/pods', `${pod.namespace}_${pod.name}_${pod.uid}`, container, '0.log'), 'utf8').catch(() => '');
}

/** Pods here start several stand-in components at once: give them longer than the default. */
const TIMEOUT_MS = 20_000;

async function logWith(pod: StaticPod, container: string, text: string): Promise<string> {
  return until(
    `"${text}" in ${pod.name} log`,
    async () => {
      const t = await logOf(pod, container);
      return t.includes(text) ? t : undefined;
    },
    TIMEOUT_MS,
  );
}

describe('process runtime under a --rootfs writes nothing on the real host', { skip: !root && 'needs root (unshare, mount)' }, () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kubestrap-process-rootfs-'));
    rootfs = path.join(dir, 'rootfs');
    host = new Host(rootfs);
    assert.equal(existsSync(etcDir) || existsSync(varDir), false, 'random test paths are new');
  });

  after(async () => {
    for (const w of workerSets) await w.stopAll().catch(() => undefined);
    // anything still marked with this rootfs is a leak: kill it (and fail loudly below)
    const leftovers = await killLeftoverContainers(host);
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(leftovers, [], 'no container processes left behind');
  });

  it('creates missing mount points only inside the namespace; the container sees the rootfs there', async () => {
    const hostWatch = new HostWatch([etcDir, varDir]);
    try {
      await put(`${etcDir}/pki/ca.crt`, 'ca-from-rootfs\n');
      await put(`${etcDir}/pki/etcd/peer.crt`, 'peer-from-rootfs\n');
      await put(`${etcDir}/app.conf`, 'conf-from-rootfs\n');
      await fakeImage(
        'example.com/check:v1',
        'check',
        `cat ${etcDir}/pki/ca.crt ${etcDir}/pki/etcd/peer.crt ${etcDir}/app.conf
echo written > ${varDir}/data/out
test -s /etc/passwd && echo etc-intact
exec sleep 1000`,
      );
      const pod = staticPod(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'check' },
          spec: {
            hostNetwork: true,
            terminationGracePeriodSeconds: 1,
            volumes: [
              { name: 'pki', hostPath: { path: `${etcDir}/pki`, type: 'DirectoryOrCreate' } },
              { name: 'etcd-pki', hostPath: { path: `${etcDir}/pki/etcd`, type: 'DirectoryOrCreate' } },
              { name: 'data', hostPath: { path: `${varDir}/data`, type: 'DirectoryOrCreate' } },
              { name: 'conf', hostPath: { path: `${etcDir}/app.conf`, type: 'FileOrCreate' } },
              { name: 'created', hostPath: { path: `${etcDir}/new.conf`, type: 'FileOrCreate' } },
            ],
            containers: [
              {
                name: 'check',
                image: 'example.com/check:v1',
                command: ['check'],
                volumeMounts: [
                  { name: 'etcd-pki', mountPath: `${etcDir}/pki/etcd`, readOnly: true },
                  { name: 'pki', mountPath: `${etcDir}/pki`, readOnly: true },
                  { name: 'data', mountPath: `${varDir}/data` },
                  { name: 'conf', mountPath: `${etcDir}/app.conf`, readOnly: true },
                  { name: 'created', mountPath: `${etcDir}/new.conf` },
                ],
              },
            ],
          },
        },
        `check-${rnd}`,
      );
      const w = newWorkers();
      w.apply({ type: 'add', pod });
      const id = await until('running', () => containerId(stateOf(w, pod)), TIMEOUT_MS);
      const log = await logWith(pod, 'check', 'etc-intact');
      assert.match(log, / stdout F ca-from-rootfs\n.* stdout F peer-from-rootfs\n.* stdout F conf-from-rootfs\n/);
      // FileOrCreate / DirectoryOrCreate sources are created under the rootfs, and writes land there
      assert.equal(await readFile(host.path(`${etcDir}/new.conf`), 'utf8'), '');
      assert.equal(await readFile(host.path(`${varDir}/data/out`), 'utf8'), 'written\n');
      // the shadows are overlays in the container's namespace only
      const pid = Number(id.split(':')[0]);
      const mountinfo = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
      const shadowed = mountinfo
        .split('\n')
        .filter((l) => / - overlay kubestrap-overlay /.test(l))
        .map((l) => l.split(' ')[4]);
      assert.deepEqual(shadowed.sort(), ['/etc', '/var/lib']);
      assert.doesNotMatch(
        await readFile('/proc/self/mountinfo', 'utf8'),
        / - (overlay|tmpfs) kubestrap-(overlay|scratch|shadow) /,
        'nothing mounted in the agent namespace',
      );
      const scratch = host.path(`/var/lib/kubestrap/agent/scratch/${pod.uid}`);
      assert.deepEqual(await readdir(scratch), ['check-0']);
      // exec probes see the same view
      const rt = new ProcessRuntime(host);
      assert.deepEqual(await rt.exec({ id, name: 'check', attempt: 0 }, ['cat', `${etcDir}/app.conf`], 5000), { exitCode: 0, output: 'conf-from-rootfs' });
      assert.equal((await rt.exec({ id, name: 'check', attempt: 0 }, ['touch', `${etcDir}/pki/x`], 5000)).exitCode !== 0, true, 'readOnly honoured');
      assert.equal(existsSync(etcDir) || existsSync(varDir), false, 'not on the real host while running');

      w.apply({ type: 'remove', pod });
      await until('removed', () => (w.states().length === 0 ? true : undefined), TIMEOUT_MS);
      await w.settled();
      assert.equal(existsSync(scratch), false, 'scratch removed with the pod');
    } finally {
      hostWatch.close();
    }
    assert.deepEqual(hostWatch.seen, [], 'no test path appeared on the real host at any time');
  });

  it('falls back to a tmpfs shadow with the real entries bound back in', async () => {
    const hostWatch = new HostWatch([etcDir, varDir]);
    try {
      await put(`${etcDir}/fallback/token`, 'token-from-rootfs\n');
      const pod: V1Pod = {
        spec: {
          containers: [],
          volumes: [
            { name: 'tok', hostPath: { path: `${etcDir}/fallback`, type: 'DirectoryOrCreate' } },
            { name: 'data', hostPath: { path: `${varDir}/fallback`, type: 'DirectoryOrCreate' } },
          ],
        },
      };
      const c: V1Container = {
        name: 'c',
        volumeMounts: [
          { name: 'tok', mountPath: `${etcDir}/fallback` },
          { name: 'data', mountPath: `${varDir}/fallback` },
        ],
      };
      const plan = await prepareMounts(host, pod, c);
      assert.deepEqual(
        plan.shadows.map((s) => s.dir),
        ['/etc', '/var/lib'],
      );
      const scratch = path.join(dir, 'fallback-scratch');
      await mkdir(scratch);
      const script = mountScript(plan, { scratch, overlay: false });
      const check = `cat ${etcDir}/fallback/token; echo fb > ${varDir}/fallback/out; ls -A /etc | grep -v '^kubestrap-test-${rnd}$'; grep -c ' kubestrap-overlay ' /proc/self/mountinfo || true`;
      const r = await execa('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'sh', '/bin/sh', '-c', check], { reject: false });
      assert.equal(r.exitCode, 0, r.stderr);
      const [token, ...rest] = r.stdout.split('\n');
      assert.equal(token, 'token-from-rootfs');
      assert.equal(rest.at(-1), '0', 'no overlay used');
      assert.deepEqual(rest.slice(0, -1), (await execa('ls', ['-A', '/etc'])).stdout.split('\n'), 'every real /etc entry is still there');
      assert.equal(await readFile(host.path(`${varDir}/fallback/out`), 'utf8'), 'fb\n');
      await rm(scratch, { recursive: true });
    } finally {
      hostWatch.close();
    }
    assert.deepEqual(hostWatch.seen, []);
  });

  it("runs init's control-plane manifests' mount sets without creating their host paths", async () => {
    const missing = CONTROL_PLANE_PATHS.filter((p) => !existsSync(p));
    console.log(`# host paths missing before the run (must stay missing): ${missing.join(' ') || 'none'}`);
    const hostWatch = new HostWatch(missing);
    try {
      const manifests = await renderControlPlaneManifests(testConfig(), host, { environment: {} });
      await put('/etc/kubernetes/scheduler.conf', `scheduler-kubeconfig-${rnd}\n`);
      await put('/etc/kubernetes/controller-manager.conf', `cm-kubeconfig-${rnd}\n`);
      await put('/etc/kubernetes/pki/ca.crt', 'ca\n');
      const w = newWorkers();
      const pods: StaticPod[] = [];
      for (const [component, m] of manifests) {
        const c = m.pod.spec!.containers[0]!;
        const mountPaths = (c.volumeMounts ?? []).map((v) => `'${v.mountPath}'`).join(' ');
        // a stand-in for the real binary: every mountPath must be there; print the kubeconfig it was given
        await fakeImage(
          c.image!,
          component,
          `for p in ${mountPaths}; do test -e "$p" || { echo "missing $p"; exit 1; }; done
echo mounts-ok
for a in "$@"; do case "$a" in --kubeconfig=*) cat "\${a#--kubeconfig=}";; esac; done
exec sleep 1000`,
        );
        // this test is about mounts: the controller-manager's and scheduler's start-after (the API server's
        // /livez, which nothing serves here) would only delay them by START_AFTER_TIMEOUT_MS
        delete m.pod.metadata?.annotations?.[START_AFTER_ANNOTATION];
        const pod = staticPod(m.pod, `${component}-${rnd}`);
        pods.push(pod);
        w.apply({ type: 'add', pod });
      }
      assert.deepEqual(
        pods.map((p) => p.pod.metadata!.name),
        ['etcd-node1', 'kube-apiserver-node1', 'kube-controller-manager-node1', 'kube-scheduler-node1'],
      );
      for (const pod of pods) await logWith(pod, pod.pod.spec!.containers[0]!.name, 'mounts-ok');
      const scheduler = pods.find((p) => p.name === 'kube-scheduler-node1')!;
      assert.match(await logWith(scheduler, 'kube-scheduler', `scheduler-kubeconfig-${rnd}`), / stdout F scheduler-kubeconfig-/);
      for (const p of missing) assert.equal(existsSync(p), false, `${p} not created on the real host`);
      await w.stopAll();
    } finally {
      hostWatch.close();
    }
    assert.deepEqual(hostWatch.seen, []);
  });
});
