/**
 * The Vagrant lab without VMs (issue 16's CI proof):
 *
 * 1. `vagrant validate` (Debian's vagrant + vagrant-libvirt, installed here when missing) on the
 *    Vagrantfile with 1 and 3 control planes, and the machines each shape defines. Validation asks
 *    libvirt, so it runs against libvirt's built-in test driver (LAB_LIBVIRT_URI=test:///default):
 *    no daemon, nothing created.
 * 2. The very provisioning scripts the Vagrantfile runs (lab/provision/*.sh, with the single
 *    executable dist/kubestrap from `npm run build:sea`) on the multi-node test bed: each "VM" a
 *    node namespace with private mounts, its own rootfs (LAB_ROOT, kubestrap's --rootfs) and the
 *    repository bound at /vagrant. cp1 (process runtime, binaries from the harness cache as the
 *    offline directory) + worker1 + worker2 (the harness's kubelet and each node's containerd):
 *    three nodes Ready through the admin kubeconfig cp1 exported, a pod running on each worker;
 *    a second provisioning run of every node is a no-op; then the join token expires, worker2 is
 *    "destroyed" (reset, its files gone) and provisioned again: cp1's re-provision mints a new
 *    token, worker2 deletes its stale Node and rejoins, and runs a pod again.
 *
 * The test bed differs from a VM only in lib.sh's documented variables: LAB_INSTALL_PACKAGES=0
 * (apt: the harness installed containerd, runc, the CNI plugins), LAB_HOST_SETUP=0 (swap, modules,
 * live sysctls, routes and containerd's restart act on the shared machine; the bed runs each
 * node's containerd and routes its pod ranges), LAB_CNI=none (the bed's CNI, cni.ts),
 * LAB_KUBELET_CONFIG (this machine's kubelet settings), LAB_STATE_DIR (a temp dir, not the
 * repository's lab/.state).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { clusterSkipReason, resetControlPlane } from '../support/cluster.js';
import { components, type ImageName } from '../support/components.js';
import { enablePodNetwork } from '../support/cni.js';
import { kubectl, kubectlJson, REPO } from '../support/init-e2e.js';
import { kubeletMachineSettings } from '../support/kubelet.js';
import { runWithLines, waitFor } from '../support/proc.js';
import { NODE_PRIVATE_DIRS, POD_NETWORK, startTestbed, type Testbed, type TestbedNode } from '../support/testbed.js';

const execFileP = promisify(execFile);
const WORKERS = ['worker1', 'worker2'] as const;
const PROVISION = '/vagrant/lab/provision';

// --- 1. vagrant validate ---------------------------------------------------------------------------

/** Debian's vagrant and its libvirt provider (without recommends: those pull in systemd and QEMU). */
async function ensureVagrant(): Promise<string | undefined> {
  const has = async (): Promise<boolean> => {
    const r = await execFileP('vagrant', ['plugin', 'list'], { env: vagrantEnv() }).catch(() => undefined);
    return r !== undefined && /vagrant-libvirt/.test(r.stdout);
  };
  if (await has()) return undefined;
  if (process.getuid?.() !== 0) return 'vagrant + vagrant-libvirt missing and not root: apt-get install --no-install-recommends vagrant vagrant-libvirt';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await execFileP('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', 'vagrant', 'vagrant-libvirt'], {
    env,
    maxBuffer: 64 << 20,
  });
  return (await has()) ? undefined : 'vagrant-libvirt still missing after apt-get install';
}

const vagrantDir = mkdtempSync(path.join(os.tmpdir(), 'lab-vagrant-'));
function vagrantEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // its state (.vagrant) and home outside the repository
    VAGRANT_DOTFILE_PATH: path.join(vagrantDir, 'dot'),
    VAGRANT_HOME: path.join(vagrantDir, 'home'),
    VAGRANT_CHECKPOINT_DISABLE: '1',
    LAB_LIBVIRT_URI: 'test:///default',
    ...extra,
  };
}

after(() => rm(vagrantDir, { recursive: true, force: true }));

async function vagrant(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await execFileP('vagrant', args, { cwd: REPO, env: vagrantEnv(extra), timeout: 120_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Machine names from `vagrant status --machine-readable`. */
async function machines(extra: NodeJS.ProcessEnv): Promise<string[]> {
  const r = await vagrant(['status', '--machine-readable'], extra);
  assert.equal(r.code, 0, r.out);
  return [...new Set(r.out.split('\n').flatMap((l) => (l.split(',')[2] === 'state' ? [l.split(',')[1]!] : [])))];
}

const rootSkip = process.getuid?.() !== 0 && 'needs root (apt-get install vagrant)';

test('vagrant validate: 1 and 3 control planes, both providers configured', { skip: rootSkip, timeout: 600_000 }, async (t) => {
  const missing = await ensureVagrant();
  if (missing) return t.skip(missing);
  for (const [shape, env, want] of [
    ['1 control plane, 2 workers', { LAB_CONTROL_PLANES: '1' }, ['cp1', 'worker1', 'worker2']],
    ['3 control planes behind lb, 2 workers', { LAB_CONTROL_PLANES: '3' }, ['lb', 'cp1', 'cp2', 'cp3', 'worker1', 'worker2']],
    ['virtualbox, 1 worker', { LAB_PROVIDER: 'virtualbox', LAB_WORKERS: '1' }, ['cp1', 'worker1']],
  ] as const) {
    // VirtualBox is not a Debian package: its provider section is checked by Vagrant's own config
    // validation only (--ignore-provider), the libvirt one by vagrant-libvirt against the test driver
    const r = await vagrant('LAB_PROVIDER' in env ? ['validate', '--ignore-provider'] : ['validate'], env);
    assert.equal(r.code, 0, `${shape}: ${r.out}`);
    assert.match(r.out, /Vagrantfile validated successfully/);
    if (!('LAB_PROVIDER' in env)) assert.deepEqual(await machines(env), want, shape);
    t.diagnostic(`${shape}: validated`);
  }
  // a bad setting is one line naming the setting, before Vagrant does anything
  const bad = await vagrant(['validate'], { LAB_CONTROL_PLANES: '2' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /control_planes: must be 1 or 3, got 2/);
});

// --- 2. the provisioning scripts on the test bed ---------------------------------------------------

interface Lab {
  bed: Testbed;
  state: string;
  env(node: TestbedNode): NodeJS.ProcessEnv;
}

/** Runs lab/provision/<script>.sh in the node as the Vagrantfile does; returns its output. */
async function provision(lab: Lab, node: TestbedNode, script: string): Promise<string> {
  const r = await runWithLines([...node.launcher, 'bash', `${PROVISION}/${script}.sh`], { env: lab.env(node), timeoutMs: 300_000 });
  assert.equal(r.code, 0, `${script}.sh on ${node.name} exited ${r.code}:\n${r.output}`);
  return r.output;
}

const roleOf = (node: TestbedNode): string => (node.name === 'cp1' ? 'first-control-plane' : 'worker');

async function provisionNode(lab: Lab, node: TestbedNode): Promise<string> {
  return (await provision(lab, node, 'common')) + (await provision(lab, node, roleOf(node)));
}

const ready = (n: V1Node): boolean => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function podOn(name: string, node: string, image: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'pause', image, imagePullPolicy: 'Never' }] },
  });
}

async function runPod(lab: Lab, name: string, node: string): Promise<V1Pod> {
  const admin = path.join(lab.state, 'admin.conf');
  const file = path.join(lab.bed.dir, `${name}.yaml`);
  await writeFile(file, podOn(name, node, components().images.pause.ref));
  await kubectl(admin, ['apply', '-f', file]);
  await kubectl(admin, ['wait', '--for=jsonpath={.status.phase}=Running', `pod/${name}`, '--timeout=120s']);
  return kubectlJson<V1Pod>(admin, ['get', 'pod', name]);
}

async function nodesReady(lab: Lab, count: number): Promise<V1Node[]> {
  const admin = path.join(lab.state, 'admin.conf');
  return waitFor(
    `${count} nodes Ready`,
    async () => {
      const list = await kubectlJson<{ items: V1Node[] }>(admin, ['get', 'nodes']).catch(() => undefined);
      return list && list.items.length === count && list.items.every(ready) ? list.items : undefined;
    },
    180_000,
    500,
  );
}

async function readJoinEnv(lab: Lab): Promise<Record<string, string>> {
  const text = await readFile(path.join(lab.state, 'join.env'), 'utf8');
  return Object.fromEntries(text.split('\n').flatMap((l) => (/^\w+=/.test(l) ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]] : [])));
}

/** The pids of the node's kubelet (or agent) supervisor: unchanged by a no-op provisioning run. */
async function servicePids(node: TestbedNode): Promise<string> {
  const files = ['run/kubestrap-kubelet.pid', 'run/kubelet.pid', 'run/kubestrap-agent.pid'];
  const pids = await Promise.all(files.map((f) => readFile(path.join(node.rootfs, f), 'utf8').catch(() => '-')));
  return pids.map((p) => p.trim()).join(' ');
}

/**
 * `vagrant destroy` for a bed node: reset, then its disk as a new VM's. reset removes
 * /var/lib/kubelet as kubeadm's does, which in a bed node is the source of a private bind mount:
 * make each such source again and bind it again, as a fresh VM has the empty directories.
 */
async function destroyNode(node: TestbedNode): Promise<void> {
  const reset = await runWithLines([...node.launcher, path.join(REPO, 'dist/kubestrap'), 'reset', '--force', '--rootfs', node.rootfs], { timeoutMs: 120_000 });
  assert.equal(reset.code, 0, reset.output);
  for (const dir of ['usr/local/bin', 'etc/kubestrap-lab']) await rm(path.join(node.rootfs, dir), { recursive: true, force: true });
  for (const dir of NODE_PRIVATE_DIRS) {
    const source = path.join(node.rootfs, dir);
    if (existsSync(source)) continue;
    const script = `mkdir -p '${source}' && umount -l '${dir}' && mount --bind '${source}' '${dir}'`;
    const r = await runWithLines([...node.launcher, 'sh', '-c', script], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${node.name}: ${script}: ${r.output}`);
  }
}

test(
  'the provisioning scripts on the test bed: 1 control plane + 2 workers, a no-op re-run, an expired token and a re-created worker',
  { skip: clusterSkipReason(), timeout: 1_200_000 },
  async (t) => {
    const built = await execFileP('npm', ['run', 'build:sea'], { cwd: REPO, maxBuffer: 16 << 20 }).catch((err: { stderr?: string }) => {
      throw new Error(`npm run build:sea: ${err.stderr ?? String(err)}`);
    });
    t.diagnostic(built.stdout.trim().split('\n').at(-1) ?? '');
    const comps = components();
    const images: ImageName[] = ['pause', ...(['kube-proxy', 'coredns'] as ImageName[]).filter((k) => k in comps.images)];
    const bed = await startTestbed({
      nodes: ['cp1', ...WORKERS],
      containerd: true,
      containerdNodes: WORKERS,
      privateMounts: true,
      images,
      binds: { '/vagrant': REPO },
    });
    const state = mkdtempSync(path.join(bed.dir, 'state-'));
    const cp1 = bed.node('cp1');
    const workers = WORKERS.map((w) => bed.node(w));
    t.after(async () => {
      for (const w of workers) {
        await runWithLines([...w.launcher, path.join(REPO, 'dist/kubestrap'), 'reset', '--force', '--rootfs', w.rootfs], { timeoutMs: 120_000 }).catch(
          () => undefined,
        );
      }
      await resetControlPlane(cp1).catch(() => undefined);
      await bed.stop();
    });
    const kubeletConfigs = new Map<string, string>();
    for (const w of workers) {
      await enablePodNetwork(bed, w);
      const file = path.join(w.dir, 'kubelet-machine.yaml');
      await writeFile(file, stringify({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', ...kubeletMachineSettings(w) }));
      kubeletConfigs.set(w.name, file);
    }
    const nodeIps = [cp1, ...workers].map((n) => n.ip).join(' ');
    const lab: Lab = {
      bed,
      state,
      env: (node) => ({
        PATH: process.env.PATH,
        LAB_NODE_NAME: node.name,
        LAB_NODE_IP: node.ip,
        LAB_ENDPOINT: `${cp1.ip}:6443`,
        LAB_CONTROL_PLANE_IPS: cp1.ip,
        LAB_NODE_IPS: nodeIps,
        LAB_KUBERNETES_VERSION: comps.kubernetesVersion,
        LAB_TOKEN_TTL: '24h0m0s',
        LAB_POD_NETWORK: POD_NETWORK,
        LAB_OFFLINE_DIR: comps.cacheDir,
        LAB_INSTALL_PACKAGES: '0',
        LAB_HOST_SETUP: '0',
        LAB_CNI: 'none',
        LAB_ROOT: node.rootfs,
        LAB_STATE_DIR: state,
        LAB_CRI_SOCKET: node.containerd?.endpoint ?? '',
        LAB_KUBELET_CONFIG: kubeletConfigs.get(node.name) ?? '',
        LAB_WAIT_SECONDS: '120',
      }),
    };
    assert.ok(
      existsSync(path.join(comps.cacheDir, 'bin', 'kubelet')) && existsSync(path.join(comps.cacheDir, 'images')),
      'the harness cache is the offline directory',
    );

    // --- first run: cp1 inits, the workers join
    const t0 = performance.now();
    const cpOut = await provisionNode(lab, cp1);
    assert.match(cpOut, /kubestrap init \(advertise 198\.18\.0\.\d+, endpoint 198\.18\.0\.\d+:6443, runtime process\)/);
    const joinEnv = await readJoinEnv(lab);
    assert.equal(joinEnv.KUBESTRAP_JOIN_ENDPOINT, `${cp1.ip}:6443`);
    assert.match(joinEnv.KUBESTRAP_JOIN_TOKEN ?? '', /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(await readFile(path.join(state, 'join-worker.sh'), 'utf8'), /dist\/kubestrap join 198\.18\.0\.\d+:6443 --token /);
    const admin = await readFile(path.join(state, 'admin.conf'), 'utf8');
    assert.match(admin, new RegExp(`server: https://${cp1.ip.replace(/\./g, '\\.')}:6443`), 'the host kubeconfig points at cp1 private address');
    t.diagnostic(`cp1 provisioned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const w of workers) {
      const out = await provisionNode(lab, w);
      assert.match(out, /kubestrap join 198\.18\.0\.\d+:6443 \(node-ip 198\.18\.0\.\d+\)/);
    }
    const nodes = await nodesReady(lab, 3);
    t.diagnostic(`3 nodes Ready ${((performance.now() - t0) / 1000).toFixed(1)} s after cp1's provisioning started`);
    for (const n of nodes) {
      const node = bed.node(n.metadata!.name!);
      const internal = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      assert.equal(internal, node.ip, `${node.name}'s InternalIP is its private address`);
    }
    for (const w of WORKERS) {
      const pod = await runPod(lab, `on-${w}`, w);
      assert.equal(pod.spec?.nodeName, w);
    }
    t.diagnostic(await kubectl(path.join(state, 'admin.conf'), ['get', 'nodes,pods', '-o', 'wide']));

    // --- second run: a no-op on every node (same token, same kubelet/agent processes)
    const pidsBefore = await Promise.all([cp1, ...workers].map(servicePids));
    for (const node of [cp1, ...workers]) {
      const out = await provisionNode(lab, node);
      assert.match(out, /nothing to do/, `${node.name}:\n${out}`);
      assert.doesNotMatch(out, /installing|importing/, `${node.name} installs nothing again:\n${out}`);
    }
    assert.deepEqual(await readJoinEnv(lab), joinEnv, 'join.env unchanged');
    assert.deepEqual(await Promise.all([cp1, ...workers].map(servicePids)), pidsBefore, 'no service restarted');
    await nodesReady(lab, 3);

    // --- the token expires; worker2 is destroyed; cp1's re-provision mints a new token; worker2 rejoins
    const ks = (node: TestbedNode, args: readonly string[]): Promise<{ code: number; output: string }> =>
      runWithLines([...node.launcher, path.join(REPO, 'dist/kubestrap'), ...args, '--rootfs', node.rootfs], { timeoutMs: 120_000 });
    const oldToken = joinEnv.KUBESTRAP_JOIN_TOKEN!;
    assert.equal((await ks(cp1, ['token', 'delete', oldToken])).code, 0);
    assert.equal((await ks(cp1, ['token', 'create', oldToken, '--ttl', '2s'])).code, 0);
    await new Promise((r) => setTimeout(r, 3000));
    const [w1, w2] = workers as [TestbedNode, TestbedNode];
    await destroyNode(w2);
    const reCp = await provisionNode(lab, cp1);
    assert.match(reCp, /the join token expired: minting a new one/);
    const newEnv = await readJoinEnv(lab);
    assert.notEqual(newEnv.KUBESTRAP_JOIN_TOKEN, oldToken);
    assert.equal(newEnv.KUBESTRAP_JOIN_CA_HASH, joinEnv.KUBESTRAP_JOIN_CA_HASH);
    const reW2 = await provisionNode(lab, w2);
    assert.match(reW2, /deleting the stale Node worker2/);
    assert.match(reW2, /joined/);
    const w1Again = await provisionNode(lab, w1);
    assert.match(w1Again, /already joined/);
    await nodesReady(lab, 3);
    const pod = await runPod(lab, 'on-worker2-again', 'worker2');
    assert.equal(pod.spec?.nodeName, 'worker2');
    t.diagnostic(await kubectl(path.join(state, 'admin.conf'), ['get', 'nodes,pods', '-o', 'wide']));
  },
);
