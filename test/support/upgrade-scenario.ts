/**
 * The edit-the-image-tag upgrade, shared by the process and cri e2e tests: `kubestrap init` of a
 * one-node cluster of the previous minor (advertised on the node's own address), `kubestrap upgrade
 * plan` offers the newest row; a tag whose binary/image is
 * not present leaves the running pod alone and says what is missing (undoing the edit keeps that
 * pod); then, with the target present, etcd (when its tag changes), kube-apiserver,
 * kube-controller-manager and kube-scheduler are edited one at a time: each gets a new container,
 * its mirror pod a new config.hash, and `kubectl version` reports the target. The API's unavailable
 * time is measured by polling /readyz every 50 ms; the Node reports the new version; `upgrade plan`
 * then names the kubeadm-config the edits left behind; reset leaves nothing. The runtime-specific
 * parts are parameters.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { V1Node, V1Pod, V1PodList } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { isLoopbackIP } from '../../src/config/net.js';
import { DEFAULT_IMAGE_REPOSITORY, type KubernetesRelease } from '../../src/config/versions.js';
import { probeOnce } from '../../src/net/http-probe.js';
import { defaultNodeIP } from '../../src/net/node-ip.js';
import { componentsOf, UPGRADE_PATH } from './components.js';
import { APISERVER, CONTROL_PLANE, kubectl, kubectlJson, kubestrap, leftovers, type ControlPlaneComponent } from './init-e2e.js';
import type { RunningContainer } from './init-scenario.js';
import { waitFor } from './proc.js';

export interface UpgradeInput {
  rootfs: string;
  node: string;
  /** `kubestrap init` flags choosing the runtime (`--runtime process`, or cri with its socket). */
  runtimeFlags: readonly string[];
  /** The running container of a control-plane component, as the runtime sees it. */
  container(name: ControlPlaneComponent): Promise<RunningContainer | undefined>;
  /**
   * What else the "tag not present" edit sets. cri: `imagePullPolicy: Never`, so the test's
   * containerd never tries registry.k8s.io (no traffic leaves this machine); process: nothing
   * (the process runtime never pulls).
   */
  missingTagEdit?: { imagePullPolicy: 'Never' };
  /** Makes the target version's images present (process: binaries in the image store; cri: images imported). */
  provideTarget(): Promise<void>;
}

const HASH = 'kubernetes.io/config.hash';

/** Polls a URL every `intervalMs`, recording each stretch of failed answers (milliseconds). */
export class Unavailability {
  private running = true;
  private downSince: number | undefined;
  private readonly loop: Promise<void>;
  readonly outages: number[] = [];
  polls = 0;

  /** `probe`: instead of GET `url` answering 200 (e.g. an authenticated request). */
  constructor(
    url = `${APISERVER}/readyz`,
    private readonly intervalMs = 50,
    private readonly probe: () => Promise<boolean> = () => probeOnce(url, 1000),
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const at = performance.now();
      const ok = await this.probe();
      this.polls++;
      if (!ok) this.downSince ??= at;
      else if (this.downSince !== undefined) {
        this.outages.push(at - this.downSince);
        this.downSince = undefined;
      }
      if (this.running) await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }

  /** Stops polling; an outage still open counts up to now. */
  async stop(): Promise<{ totalMs: number; longestMs: number; outages: number }> {
    this.running = false;
    await this.loop;
    if (this.downSince !== undefined) this.outages.push(performance.now() - this.downSince);
    return {
      totalMs: Math.round(this.outages.reduce((a, b) => a + b, 0)),
      longestMs: Math.round(Math.max(0, ...this.outages)),
      outages: this.outages.length,
    };
  }
}

function imageOf(component: ControlPlaneComponent, release: KubernetesRelease): string {
  const tag = component === 'etcd' ? release.etcdImageTag : release.version;
  return `${DEFAULT_IMAGE_REPOSITORY}/${component}:${tag}`;
}

/** Rewrites one manifest's container image (and any extra container fields); returns the old text. */
async function editManifest(file: string, change: Record<string, string>): Promise<string> {
  const text = await readFile(file, 'utf8');
  const pod = parse(text) as V1Pod;
  Object.assign(pod.spec!.containers[0]!, change);
  await writeFile(file, stringify(pod));
  return text;
}

/** A one-node cluster just initialised at UPGRADE_FROM: where its files are, and what it serves. */
export interface UpgradeCluster {
  admin: string;
  manifests: string;
  /** `kubectl version`'s server gitVersion. */
  serverVersion: () => Promise<string>;
}

/** `kubestrap init` at UPGRADE_FROM on `rootfs`, asserted to succeed; the start of every upgrade scenario. */
export async function initAtUpgradeFrom(input: Pick<UpgradeInput, 'rootfs' | 'node' | 'runtimeFlags'>): Promise<UpgradeCluster> {
  const init = await kubestrap(upgradeInitArgs(input.rootfs, input.node, input.runtimeFlags));
  assert.equal(init.code, 0, `init failed:\n${init.stderr}\n${init.stdout}`);
  const admin = path.join(input.rootfs, 'etc/kubernetes/admin.conf');
  return {
    admin,
    manifests: path.join(input.rootfs, 'etc/kubernetes/manifests'),
    serverVersion: async () =>
      (JSON.parse(await kubectl(admin, ['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
  };
}

/** init at UPGRADE_FROM, the checks above, then reset (nothing left behind). */
export async function editTagScenario(t: TestContext, input: UpgradeInput): Promise<void> {
  const { rootfs, node } = input;
  const [from, to] = [UPGRADE_FROM, UPGRADE_TO];
  const { admin, manifests, serverVersion } = await initAtUpgradeFrom(input);
  const mirror = (component: ControlPlaneComponent): Promise<V1Pod | undefined> =>
    kubectlJson<V1Pod>(admin, ['get', 'pod', '-n', 'kube-system', `${component}-${node}`]).catch(() => undefined);

  // --- the cluster of the previous minor: four mirror pods Running and Ready
  await waitFor(
    'four mirror pods Running and Ready',
    async () => {
      const list = await kubectlJson<V1PodList>(admin, ['get', 'pods', '-n', 'kube-system']);
      const ok = CONTROL_PLANE.every((c) => {
        const p = list.items.find((x) => x.metadata?.name === `${c}-${node}`);
        return p?.status?.phase === 'Running' && p.status.containerStatuses?.every((s) => s.ready);
      });
      return ok || undefined;
    },
    120_000,
    500,
  );
  assert.equal(await serverVersion(), from.version);

  // --- `upgrade plan` offers the newest row, with the etcd change
  const plan = await kubestrap(['upgrade', 'plan', '--rootfs', rootfs], 60_000);
  assert.equal(plan.code, 0, `upgrade plan failed:\n${plan.stderr}\n${plan.stdout}`);
  t.diagnostic(`kubestrap upgrade plan:\n${plan.stdout.trim()}`);
  assert.match(plan.stdout, new RegExp(`kube-apiserver\\s+${node}\\s+${from.version}\\s+${to.version}`));
  if (from.etcdImageTag !== to.etcdImageTag) assert.match(plan.stdout, new RegExp(`etcd\\s+${node}\\s+${from.etcdImageTag}\\s+${to.etcdImageTag}`));
  assert.match(plan.stdout, new RegExp(`kubestrap upgrade apply ${to.version.replace(/\./g, '\\.')}`));

  // --- a tag that is not present: the running scheduler stays, the new pod says what is missing
  const schedFile = path.join(manifests, 'kube-scheduler.yaml');
  const missingImage = imageOf('kube-scheduler', to);
  const sched = await input.container('kube-scheduler');
  assert.ok(sched, 'the scheduler runs');
  let t0 = performance.now();
  const schedGood = await editManifest(schedFile, { image: missingImage, ...input.missingTagEdit });
  const waiting = await waitFor(
    'the scheduler pod waiting with ErrImageNeverPull',
    async () => {
      const ps = await kubestrap(['ps', '--rootfs', rootfs, '-o', 'json'], 30_000);
      const pod = (JSON.parse(ps.stdout) as V1PodList).items.find((p) => p.metadata?.name === `kube-scheduler-${node}`);
      const w = pod?.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'ErrImageNeverPull' ? w : undefined;
    },
    60_000,
    250,
  );
  t.diagnostic(`missing tag → ${waiting.reason}: ${waiting.message} (after ${Math.round(performance.now() - t0)} ms)`);
  assert.ok(waiting.message?.includes(missingImage), 'the message names the image');
  assert.match(waiting.message ?? '', /import/, 'the message says how to import it');
  assert.match(waiting.message ?? '', /keeps running/);
  const mirrorWaiting = await waitFor(
    'the scheduler mirror pod showing the reason',
    async () => {
      const p = await mirror('kube-scheduler');
      return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull' ? p : undefined;
    },
    60_000,
    500,
  );
  assert.equal(mirrorWaiting.spec?.containers[0]?.image, missingImage);
  const psText = (await kubestrap(['ps', '--rootfs', rootfs])).stdout;
  t.diagnostic(`kubestrap ps:\n${psText.trim()}`);
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(await input.container('kube-scheduler'), sched, 'the last good scheduler keeps running');
  await writeFile(schedFile, schedGood);
  await waitFor(
    'the scheduler pod back to Running',
    async () => {
      const p = await mirror('kube-scheduler');
      return p?.spec?.containers[0]?.image === imageOf('kube-scheduler', from) && p.status?.containerStatuses?.[0]?.ready ? p : undefined;
    },
    60_000,
    500,
  );
  assert.deepEqual(await input.container('kube-scheduler'), sched, 'undoing the edit keeps the same scheduler');

  // --- the target present: etcd, then the API server, the controller-manager, the scheduler
  await input.provideTarget();
  const order = CONTROL_PLANE.filter((c) => c !== 'etcd' || from.etcdImageTag !== to.etcdImageTag);
  const all = new Unavailability();
  for (const component of order) {
    const image = imageOf(component, to);
    const before = await input.container(component);
    assert.ok(before, `${component} runs`);
    const oldHash = (await mirror(component))?.metadata?.annotations?.[HASH];
    assert.ok(oldHash, `${component} has a mirror pod with a config.hash`);
    const down = new Unavailability();
    t0 = performance.now();
    await editManifest(path.join(manifests, `${component}.yaml`), { image });
    const next = await waitFor(
      `a new ${component} container`,
      async () => {
        const c = await input.container(component);
        return c && c.id !== before.id ? c : undefined;
      },
      120_000,
      100,
    );
    const replacedMs = Math.round(performance.now() - t0);
    const newMirror = await waitFor(
      `the ${component} mirror pod with a new config.hash, Ready`,
      async () => {
        const p = await mirror(component);
        const h = p?.metadata?.annotations?.[HASH];
        return p && h && h !== oldHash && p.spec?.containers[0]?.image === image && p.status?.containerStatuses?.every((s) => s.ready) ? p : undefined;
      },
      180_000,
      250,
    );
    const readyMs = Math.round(performance.now() - t0);
    const d = await down.stop();
    const line = `${component} → ${image}: container ${before.id} → ${next.id} after ${replacedMs} ms, mirror hash ${oldHash} → ${newMirror.metadata?.annotations?.[HASH]}, Ready after ${readyMs} ms; API unavailable ${d.totalMs} ms (longest ${d.longestMs} ms, ${d.outages} outage(s), ${down.polls} polls)`;
    t.diagnostic(line);
    if (component === 'kube-apiserver') {
      const v = await waitFor(
        'kubectl version reporting the target',
        async () => ((await serverVersion()) === to.version ? to.version : undefined),
        60_000,
        500,
      );
      t.diagnostic(`kubectl version: server ${v}`);
      // the agent reports its kube-apiserver's tag as the node's version, at its next status report
      t0 = performance.now();
      await waitFor(
        `node ${node} reporting ${to.version}`,
        async () => ((await kubectlJson<V1Node>(admin, ['get', 'node', node])).status?.nodeInfo?.kubeletVersion === to.version ? true : undefined),
        60_000,
        1000,
      );
      t.diagnostic(`node ${node} reports ${to.version} after ${Math.round(performance.now() - t0)} ms`);
    }
  }
  const total = await all.stop();
  t.diagnostic(
    `edit-tag upgrade ${from.version} → ${to.version}: API unavailable ${total.totalMs} ms in all (longest ${total.longestMs} ms, ${total.outages} outage(s), /readyz polled ${all.polls} times)`,
  );

  // --- the end state: every component at the target, the server at the target
  const pods = await kubectlJson<V1PodList>(admin, ['get', 'pods', '-n', 'kube-system']);
  for (const c of CONTROL_PLANE) {
    const p = pods.items.find((x) => x.metadata?.name === `${c}-${node}`);
    assert.equal(p?.spec?.containers[0]?.image, imageOf(c, c === 'etcd' && !order.includes('etcd') ? from : to), `${c}'s mirror pod image`);
    assert.equal(p?.status?.phase, 'Running', `${c} Running`);
  }
  assert.equal(await serverVersion(), to.version);
  const after = await kubestrap(['upgrade', 'plan', '--rootfs', rootfs], 60_000);
  assert.equal(after.code, 0, `upgrade plan failed:\n${after.stderr}\n${after.stdout}`);
  t.diagnostic(`kubestrap upgrade plan after the edits:\n${after.stdout.trim()}`);
  assert.match(after.stdout, new RegExp(`Cluster version: ${to.version}`));
  assert.match(
    after.stdout,
    new RegExp(`kubeadm-config says kubernetesVersion ${from.version} but kube-apiserver runs ${to.version}`),
    'the edit changed no ConfigMap',
  );

  const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual(await leftovers(rootfs), []);
}

export const [UPGRADE_FROM, UPGRADE_TO] = UPGRADE_PATH;

/**
 * Why the upgrade test cannot run here, or false: root, both versions prepared, and an address to
 * advertise that is not loopback (a v1.37 kube-apiserver refuses a loopback advertise address that
 * a v1.36 one accepted, and a tag edit changes no flag).
 */
export function upgradeSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (fixed ports, bind mounts, containerd)';
  for (const r of [UPGRADE_FROM, UPGRADE_TO]) {
    try {
      componentsOf(r.version);
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (isLoopbackIP(defaultNodeIP())) return 'no non-loopback IPv4 address to advertise';
  return false;
}

/** `kubestrap init` arguments for the cluster to upgrade: the old version, advertised on the node's own address. */
export function upgradeInitArgs(rootfs: string, node: string, runtime: readonly string[]): string[] {
  return [
    'init',
    '--rootfs',
    rootfs,
    ...runtime,
    '--apiserver-advertise-address',
    defaultNodeIP(),
    '--node-name',
    node,
    '--kubernetes-version',
    UPGRADE_FROM.version,
  ];
}
