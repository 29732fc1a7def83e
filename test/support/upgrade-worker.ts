/**
 * A worker beside the one-node upgrade cluster (upgrade-scenario.ts), to show that its pods keep
 * running while the control plane is upgraded: a test bed of one node, w1, with its own containerd,
 * private mounts and the bed's pod network, joined by `kubestrap join` with the kubelet of the
 * version it joins (UPGRADE_FROM; one minor behind the target is within skew), running a
 * one-replica Deployment of the ks-http image.
 *
 * The control plane stays on the host: init advertises the bed bridge's host address (`bridgeIp`),
 * the one address that both the host and the node's namespace reach (and a non-loopback one, which
 * a v1.37 kube-apiserver needs), so no route, forwarding or NAT is added anywhere. The bed must
 * therefore outlive the control plane: reset first, then `stop()`. The host has no route to the
 * bed's pod addresses, so no pod on w1 may talk to the control plane (its replies would take the
 * host's default route): the workload only answers, and the addons' images (CoreDNS would talk to
 * the API from a pod address) are not imported, so those pods wait on w1 (their pulls end at once:
 * the node has no default route).
 *
 * From the moment the pod is Ready, w1's namespace asks it for its name every second (the host has
 * no route to pod addresses); `verify()` then wants the same pod (UID), the same container, no
 * restart, and every answer.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1Node, V1Pod, V1PodList } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseJoinCommand } from './cluster.js';
import { enablePodNetwork } from './cni.js';
import { componentsOf, UPGRADE_PATH } from './components.js';
import { HTTP_PORT, httpContainer, httpImage, importHttpImage } from './http-image.js';
import { kubectl, kubectlJson } from './init-e2e.js';
import { joinNode } from './node-join.js';
import { waitFor } from './proc.js';
import { deployment } from './workloads.js';
import { startTestbed, testbedLeftovers, type Testbed, type TestbedNode } from './testbed.js';

const WORKER = 'w1';
const APP = 'upgrade-web';
const PROBE_INTERVAL_MS = 1000;

/** The worker's pod as first seen Ready: what must not change. */
interface PodIdentity {
  name: string;
  uid: string;
  containerId: string;
  ip: string;
}

export interface UpgradeWorker {
  /** init's `--apiserver-advertise-address`: the bed bridge's host side, reachable from w1. */
  readonly advertiseAddress: string;
  /** The worker's kubelet version (UPGRADE_FROM's). */
  readonly kubeletVersion: string;
  /** Joins w1 with the worker join command init printed, runs the Deployment's pod there until Ready, then starts probing it. Returns a summary line. */
  join(admin: string, initStdout: string): Promise<string>;
  /** Stops probing and asserts the pod is the one join() saw: same UID and container, 0 restarts, every probe answered. Returns a summary line. */
  verify(admin: string): Promise<string>;
  /** Stops the bed (after the control plane's reset); returns what it left behind (nothing, or a failure). */
  stop(): Promise<string[]>;
}

function workload(image: string): string {
  return stringify(deployment(APP, 1, { nodeSelector: { 'kubernetes.io/hostname': WORKER }, containers: [httpContainer(image)] }));
}

async function appPods(admin: string): Promise<V1Pod[]> {
  return (await kubectlJson<V1PodList>(admin, ['get', 'pods', '-n', 'default', '-l', `app=${APP}`])).items;
}

/** Asks the pod for its name every second from the worker's namespace, recording what failed. */
class PodProbe {
  private running = true;
  private readonly loop: Promise<void>;
  readonly failures: string[] = [];
  answers = 0;
  private lastOk = performance.now();
  longestGapMs = 0;

  constructor(
    private readonly node: TestbedNode,
    private readonly client: string,
    private readonly pod: PodIdentity,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const url = `http://${this.pod.ip}:${HTTP_PORT}/`;
    while (this.running) {
      const at = performance.now();
      const answer = await this.node
        .exec(this.client, ['get', url], { timeoutMs: 10_000 })
        .then((r) => r.stdout.trim())
        .catch((err: { stderr?: string; message?: string }) => `error: ${(err.stderr || err.message || String(err)).trim()}`);
      if (answer === this.pod.name) {
        this.answers++;
        this.longestGapMs = Math.max(this.longestGapMs, performance.now() - this.lastOk);
        this.lastOk = performance.now();
      } else this.failures.push(`${new Date().toISOString()} ${answer}`);
      const wait = PROBE_INTERVAL_MS - (performance.now() - at);
      if (this.running && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** Starts the worker's bed (w1: containerd with the pause and ks-http images, private mounts, pod network). */
export async function startUpgradeWorker(): Promise<UpgradeWorker> {
  const from = componentsOf(UPGRADE_PATH[0].version);
  const t0 = performance.now();
  const bed: Testbed = await startTestbed({ nodes: [WORKER], containerd: true, images: ['pause'], privateMounts: true });
  const node = bed.node(WORKER);
  let image: string;
  let client: string;
  try {
    await enablePodNetwork(bed, node);
    image = await importHttpImage(node.containerd!);
    client = (await httpImage()).binary;
  } catch (err) {
    await bed.stop();
    throw err;
  }
  let probe: PodProbe | undefined;
  let pod: PodIdentity | undefined;
  let stopped: Promise<string[]> | undefined;
  const bedMs = performance.now() - t0;

  return {
    advertiseAddress: bed.bridgeIp,
    kubeletVersion: from.kubernetesVersion,
    async join(admin, initStdout) {
      let t0 = performance.now();
      const joined = await joinNode('kubestrap', node, parseJoinCommand(initStdout), { kubeletPath: from.binaries.kubelet.path });
      assert.equal(joined.code, 0, `kubestrap join on ${WORKER} exited ${joined.code}:\n${joined.output}`);
      const n = await waitFor(
        `${WORKER} Ready`,
        async () => {
          const got = await kubectlJson<V1Node>(admin, ['get', 'node', WORKER]).catch(() => undefined);
          return got?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? got : undefined;
        },
        120_000,
        250,
      );
      const joinMs = performance.now() - t0;
      assert.equal(n.status?.nodeInfo?.kubeletVersion, from.kubernetesVersion, `${WORKER}'s kubelet`);

      t0 = performance.now();
      const manifest = path.join(bed.dir, `${APP}.yaml`);
      await writeFile(manifest, workload(image));
      await kubectl(admin, ['apply', '-f', manifest]);
      await kubectl(admin, ['rollout', 'status', `deployment/${APP}`, '--timeout=120s']);
      const [p] = await appPods(admin);
      const status = p?.status?.containerStatuses?.[0];
      assert.ok(p?.metadata?.uid && p.status?.podIP && status?.containerID, `a Ready ${APP} pod: ${JSON.stringify(p?.status)}`);
      assert.equal(p.spec?.nodeName, WORKER);
      pod = { name: p.metadata.name!, uid: p.metadata.uid, containerId: status.containerID, ip: p.status.podIP };
      probe = new PodProbe(node, client, pod);
      return `${WORKER}'s bed up in ${Math.round(bedMs)} ms; joined (kubelet ${from.kubernetesVersion}) and Ready after ${Math.round(joinMs)} ms; pod ${pod.name} (uid ${pod.uid}, ${pod.containerId}, ${pod.ip}) Ready ${Math.round(performance.now() - t0)} ms later, probed every ${PROBE_INTERVAL_MS} ms from ${WORKER}`;
    },
    async verify(admin) {
      assert.ok(probe && pod, 'join() ran');
      await probe.stop();
      const pods = await appPods(admin);
      assert.deepEqual(
        pods.map((p) => p.metadata?.name),
        [pod.name],
        `the Deployment still has the one pod it had`,
      );
      const [p] = pods;
      const status = p!.status?.containerStatuses?.[0];
      assert.equal(p!.metadata?.uid, pod.uid, 'same pod UID');
      assert.equal(status?.containerID, pod.containerId, 'same container');
      assert.equal(status?.restartCount, 0, 'no restart');
      assert.ok(status?.state?.running, `the container runs: ${JSON.stringify(status?.state)}`);
      assert.deepEqual(probe.failures, [], `every probe of ${pod.name} answered`);
      assert.ok(probe.answers > 0, 'the pod was probed');
      return `worker pod ${pod.name} on ${WORKER}: same uid ${pod.uid} and container ${pod.containerId}, restartCount 0; answered all ${probe.answers} probes (longest gap between answers ${Math.round(probe.longestGapMs)} ms)`;
    },
    stop() {
      stopped ??= (async () => {
        await probe?.stop();
        await bed.stop();
        return testbedLeftovers(bed);
      })();
      return stopped;
    },
  };
}
