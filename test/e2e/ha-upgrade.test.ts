/**
 * Issue 14, "upgrade apply on the HA test bed, one control plane at a time": three control planes
 * (process runtime) and w1 (the real kubelet, containerd) at UPGRADE_FROM behind HAProxy (its own bed
 * node; controlPlaneEndpoint = the balancer), a pod on w1. The target's binaries staged on every
 * control plane; then `upgrade apply` on cp1, `upgrade node` on cp2 and cp3, `upgrade node` on w1 and
 * the operator's part there (the kubelet binary swapped, the kubelet restarted). Meanwhile an
 * authenticated API request (GET /api/v1/nodes, what `kubectl get nodes` sends, a new connection
 * each time) goes through the balancer every 150 ms, and each API server's own /readyz is polled
 * directly: the longest failure stretch through the balancer must stay below the time the upgraded
 * API server itself was unavailable (the reference, measured on the same step). After each step the
 * node's four mirror pods run the target with a new config.hash and etcd has 3 healthy voting
 * members; CoreDNS and kube-proxy are upgraded by the last control plane's `upgrade node` only (as
 * kubeadm's addon phase: not before every kube-apiserver runs the target); the pod on w1 keeps its
 * UID and container, restartCount 0.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod, V1PodList } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { DEFAULT_IMAGE_REPOSITORY, type KubernetesRelease } from '../../src/config/versions.js';
import { parseImage } from '../../src/images/binary.js';
import { clusterSkipReason } from '../support/cluster.js';
import { components, componentsOf } from '../support/components.js';
import { pointLink, startHaCluster, type HaCluster } from '../support/ha-cluster.js';
import { startHaproxy, type ApiLoadBalancer } from '../support/haproxy.js';
import { stageImageBinaries } from '../support/image-binaries.js';
import { buildCli, CONTROL_PLANE, type CliResult, type ControlPlaneComponent } from '../support/init-e2e.js';
import { waitFor } from '../support/proc.js';
import type { TestbedNode } from '../support/testbed.js';
import { Unavailability, UPGRADE_FROM, UPGRADE_TO, upgradeSkipReason } from '../support/upgrade-scenario.js';

const HASH = 'kubernetes.io/config.hash';
const CPS = ['cp1', 'cp2', 'cp3'] as const;
const LB_POLL_MS = 150;
const DIRECT_POLL_MS = 200;

const imageOf = (c: ControlPlaneComponent, r: KubernetesRelease): string => `${DEFAULT_IMAGE_REPOSITORY}/${c}:${c === 'etcd' ? r.etcdImageTag : r.version}`;
const ready = (n: V1Node): boolean => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** GET /api/v1/nodes?limit=1 with admin.conf's client certificate through `server`, a new connection each time: 200 or not. */
function apiRequestProbe(kubeconfig: string): () => Promise<boolean> {
  interface Kubeconfig {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
  }
  const kc = parse(readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
  const b64 = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64');
  const { server, 'certificate-authority-data': ca } = kc.clusters[0]!.cluster;
  const { 'client-certificate-data': cert, 'client-key-data': key } = kc.users[0]!.user;
  const tls = { ca: b64(ca), cert: b64(cert), key: b64(key) };
  return () =>
    new Promise((resolve) => {
      const req = https.get(`${server}/api/v1/nodes?limit=1`, { ...tls, agent: false, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
    });
}

interface StepFigures {
  step: string;
  ms: number;
  /** Through the balancer: longest failure stretch, total, outages, polls. */
  lb: { longestMs: number; totalMs: number; outages: number; polls: number };
  /** The upgraded API server's own /readyz (direct): longest failure stretch (the reference). */
  own?: { longestMs: number; totalMs: number };
}

test(
  `HA upgrade ${UPGRADE_FROM.version} → ${UPGRADE_TO.version}: apply on cp1, node on cp2/cp3 and w1, through HAProxy`,
  { skip: clusterSkipReason() || upgradeSkipReason(), timeout: 20 * 60_000 },
  async (t) => {
    t.diagnostic(await buildCli());
    const [from, to] = [UPGRADE_FROM, UPGRADE_TO];
    const state: { lb?: ApiLoadBalancer; cluster?: HaCluster } = {};
    t.after(async () => {
      if (state.cluster) t.diagnostic(`stop: ${(await state.cluster.stop()).join('; ') || 'reset left nothing to force'}`);
    });
    const t0 = performance.now();
    const cluster = (state.cluster = await startHaCluster({
      version: from.version,
      controlPlanes: CPS,
      workers: ['w1'],
      extraNodes: ['lb'],
      beforeInit: async (bed) => {
        state.lb = await startHaproxy(bed.node('lb'), { servers: CPS.map((name) => ({ name, host: bed.node(name).ip, port: 6443 })) });
      },
      endpoint: () => state.lb!.endpoint,
    }));
    const cps = cluster.controlPlanes;
    const w1 = cluster.workers[0]!;
    assert.match(await readFile(cluster.cp1.adminConf, 'utf8'), new RegExp(`server: https://${state.lb!.endpoint.replace(/\./g, '\\.')}`));

    // --- the cluster at UPGRADE_FROM, a pod on w1
    await waitFor(
      '4 Ready nodes',
      async () => {
        const nodes = (await cluster.kubectlJson<{ items: V1Node[] }>(['get', 'nodes']).catch(() => ({ items: [] }))).items;
        return nodes.length === 4 && nodes.every(ready) ? nodes : undefined;
      },
      180_000,
      500,
    );
    const mirrors = async (node: string): Promise<Map<ControlPlaneComponent, V1Pod>> => {
      const list = await cluster.kubectlJson<V1PodList>(['get', 'pods', '-n', 'kube-system', '--field-selector', `spec.nodeName=${node}`]);
      const out = new Map<ControlPlaneComponent, V1Pod>();
      for (const c of CONTROL_PLANE) {
        const p = list.items.find((x) => x.metadata?.name === `${c}-${node}`);
        if (p) out.set(c, p);
      }
      return out;
    };
    const allAt = async (node: string, release: KubernetesRelease): Promise<Map<ControlPlaneComponent, V1Pod> | undefined> => {
      const m = await mirrors(node).catch(() => new Map<ControlPlaneComponent, V1Pod>());
      const ok = CONTROL_PLANE.every((c) => {
        const p = m.get(c);
        return p?.spec?.containers[0]?.image === imageOf(c, release) && p.status?.phase === 'Running' && p.status.containerStatuses?.every((s) => s.ready);
      });
      return ok ? m : undefined;
    };
    const before = new Map<string, Map<ControlPlaneComponent, V1Pod>>();
    for (const n of CPS) before.set(n, await waitFor(`${n}'s four mirror pods at ${from.version}`, () => allAt(n, from), 120_000, 500));
    const web: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        nodeName: w1.name,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'pause', image: `registry.k8s.io/pause:${components().pauseVersion}`, imagePullPolicy: 'Never' }],
      },
    };
    const webFile = path.join(w1.dir, 'web.yaml');
    await writeFile(webFile, stringify(web));
    await cluster.kubectl(['apply', '-f', webFile]);
    const webRunning = (): Promise<V1Pod | undefined> =>
      cluster
        .kubectlJson<V1Pod>(['get', 'pod', 'web'])
        .then((p) => (p.status?.containerStatuses?.[0]?.state?.running ? p : undefined))
        .catch(() => undefined);
    const web0 = await waitFor('the pod web running on w1', webRunning, 120_000, 500);
    const addonTags = async (): Promise<{ proxy: string; dns: string }> => {
      const ds = await cluster.kubectlJson<V1DaemonSet>(['get', 'daemonset', '-n', 'kube-system', 'kube-proxy']);
      const dep = await cluster.kubectlJson<V1Deployment>(['get', 'deployment', '-n', 'kube-system', 'coredns']);
      return { proxy: parseImage(ds.spec!.template.spec!.containers[0]!.image!).tag, dns: parseImage(dep.spec!.template.spec!.containers[0]!.image!).tag };
    };
    const fromAddons = { proxy: from.version, dns: from.corednsVersion };
    const toAddons = { proxy: to.version, dns: to.corednsVersion };
    assert.deepEqual(await addonTags(), fromAddons);
    const setupMs = Math.round(performance.now() - t0);
    t.diagnostic(`setup at ${from.version} in ${setupMs} ms: ${JSON.stringify(cluster.timings)}`);

    // --- the target's binaries on every control plane (the operator's part, as pulling images)
    const target = componentsOf(to.version);
    for (const node of cps) await stageImageBinaries(node.rootfs, target);

    const etcdHealthy = async (after: string): Promise<void> => {
      const members = await cluster.members(cps[0]);
      assert.equal(members.length, 3, `${after}: 3 etcd members`);
      assert.ok(
        members.every((m) => !m.isLearner),
        `${after}: every member votes: ${JSON.stringify(members)}`,
      );
      const health = JSON.parse(await cluster.etcdctl(['endpoint', 'health', '--cluster', '-w', 'json'])) as { endpoint: string; health: boolean }[];
      assert.equal(health.filter((h) => h.health).length, 3, `${after}: 3 healthy endpoints: ${JSON.stringify(health)}`);
    };
    const lbProbe = apiRequestProbe(cluster.cp1.adminConf);
    const figures: StepFigures[] = [];
    /** One step with the balancer's poller (and the upgraded API server's own) around it. */
    const step = async (name: string, node: TestbedNode, args: readonly string[], own: boolean): Promise<CliResult> => {
      const lb = new Unavailability(`https://${state.lb!.endpoint}`, LB_POLL_MS, lbProbe);
      const direct = own ? new Unavailability(`https://${node.ip}:6443/readyz`, DIRECT_POLL_MS) : undefined;
      const s0 = performance.now();
      const res = await cluster.kubestrap(node, [...args, '--rootfs', node.rootfs], 10 * 60_000);
      const ms = Math.round(performance.now() - s0);
      const l = await lb.stop();
      const d = await direct?.stop();
      const f: StepFigures = { step: name, ms, lb: { ...l, polls: lb.polls }, ...(d ? { own: { longestMs: d.longestMs, totalMs: d.totalMs } } : {}) };
      figures.push(f);
      t.diagnostic(
        `${name}: exit ${res.code} after ${ms} ms; through the balancer: longest failure ${l.longestMs} ms (${l.outages} outage(s), ${l.totalMs} ms in all, ${lb.polls} requests)` +
          (d ? `; ${node.name}'s own API server (direct /readyz): unavailable ${d.longestMs} ms longest, ${d.totalMs} ms in all` : ''),
      );
      assert.equal(res.code, 0, `${name} failed:\n${res.stderr}\n${res.stdout}`);
      return res;
    };
    const upgradedMirrors = async (node: string): Promise<void> => {
      const after = await waitFor(`${node}'s four mirror pods at ${to.version}`, () => allAt(node, to), 120_000, 500);
      for (const c of CONTROL_PLANE) {
        const [h0, h1] = [before.get(node)!.get(c)?.metadata?.annotations?.[HASH], after.get(c)?.metadata?.annotations?.[HASH]];
        assert.ok(h1 && h1 !== h0, `${node}/${c}: config.hash ${h0} → ${h1}`);
      }
    };

    // --- apply on cp1: the addons wait for the other API servers
    const apply = await step(`upgrade apply ${to.version} on cp1`, cps[0]!, ['upgrade', 'apply', to.version, '--yes'], true);
    assert.match(apply.stdout, /Skipping upgrade of addons because control plane instances \[cp2 cp3\] have not been upgraded/);
    await upgradedMirrors('cp1');
    await etcdHealthy('after apply on cp1');
    assert.deepEqual(await addonTags(), fromAddons, 'addons untouched while cp2 and cp3 run the old kube-apiserver');

    // --- node on cp2, then cp3: the last one upgrades the addons
    const node2 = await step('upgrade node on cp2', cps[1]!, ['upgrade', 'node'], true);
    assert.match(node2.stdout, /Skipping upgrade of addons because control plane instances \[cp3\] have not been upgraded/);
    await upgradedMirrors('cp2');
    await etcdHealthy('after upgrade node on cp2');
    assert.deepEqual(await addonTags(), fromAddons, 'addons untouched while cp3 runs the old kube-apiserver');
    const node3 = await step('upgrade node on cp3', cps[2]!, ['upgrade', 'node'], true);
    assert.doesNotMatch(node3.stdout, /Skipping upgrade of addons/);
    await upgradedMirrors('cp3');
    await etcdHealthy('after upgrade node on cp3');
    assert.deepEqual(await addonTags(), toAddons, 'the last control plane upgraded CoreDNS and kube-proxy');
    const server = JSON.parse(await cluster.kubectl(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    assert.equal(server.serverVersion.gitVersion, to.version, 'kubectl version through the balancer');

    // --- w1: upgrade node (kubelet config), then the operator's part: the new kubelet binary, restarted
    const nodeW1 = await step('upgrade node on w1', w1, ['upgrade', 'node'], false);
    // 1.36's and 1.37's generated kubelet-config agree, so the config is "already the cluster's" when the
    // node's own document (the machine's settings of join's --config) is laid over it again
    assert.match(nodeW1.stdout, /is already the cluster's|Wrote the cluster's kubelet configuration/);
    const kubeletConfig = parse(await readFile(path.join(w1.rootfs, 'var/lib/kubelet/config.yaml'), 'utf8')) as Record<string, unknown>;
    assert.equal(kubeletConfig.cgroupRoot, w1.cgroupRoot(), "w1's config.yaml keeps the node's own settings");
    assert.match(nodeW1.stdout, /Skipping the addon phase\. Not a control plane node\./);
    const k0 = performance.now();
    await pointLink(cluster.kubeletLink(w1), target.binaries.kubelet.path);
    const kubeletPid = Number(await readFile(path.join(w1.rootfs, 'run/kubelet.pid'), 'utf8'));
    process.kill(kubeletPid, 'SIGTERM'); // the supervisor (systemd's Restart=always here) starts it again: the new binary
    await waitFor(
      `w1 Ready with kubelet ${to.version}`,
      async () => {
        const n = await cluster.kubectlJson<V1Node>(['get', 'node', w1.name]).catch(() => undefined);
        return n && ready(n) && n.status?.nodeInfo?.kubeletVersion === to.version ? n : undefined;
      },
      120_000,
      500,
    );
    const kubeletMs = Math.round(performance.now() - k0);
    // the new kubelet's first sync of the pod is where a restart would happen
    await new Promise((r) => setTimeout(r, 5000));
    const web1 = await waitFor('the pod web still running', webRunning, 30_000, 500);
    const cs0 = web0.status!.containerStatuses![0]!;
    const cs1 = web1.status!.containerStatuses![0]!;
    t.diagnostic(
      `w1's kubelet ${from.version} → ${to.version}: Ready at the new version ${kubeletMs} ms after the restart; pod web uid ${web1.metadata?.uid}, container ${cs1.containerID}, restarts ${cs1.restartCount}`,
    );
    assert.equal(web1.metadata?.uid, web0.metadata?.uid, 'the same pod');
    assert.equal(cs1.containerID, cs0.containerID, 'the same container');
    assert.equal(cs1.restartCount, 0, 'never restarted');

    // --- the figures: through the balancer, never longer than one API server's restart
    const reference = Math.min(...figures.flatMap((f) => (f.own ? [f.own.longestMs] : [])));
    const worst = Math.max(...figures.map((f) => f.lb.longestMs));
    t.diagnostic(
      `HA upgrade done in ${Math.round(performance.now() - t0)} ms (setup ${setupMs} ms): longest failure through the balancer ${worst} ms; one API server's own restart (shortest of the three upgraded, direct /readyz) ${reference} ms; steps ${JSON.stringify(figures)}`,
    );
    assert.ok(reference > 0, 'each upgraded API server was unavailable for a while (the reference is real)');
    assert.ok(worst <= reference, `through the balancer the API failed for ${worst} ms, longer than one API server's restart (${reference} ms)`);
    reportLbLog(t, await state.lb!.log());
  },
);

/** HAProxy's health-check transitions, so the lead sees when each server left and rejoined the pool. */
function reportLbLog(t: TestContext, log: string): void {
  // HAProxy logs each transition twice (a [WARNING] copy on stderr); the bed's start (no server up yet) is left out
  const all = log.split('\n').filter((l) => /^Server apiservers\/\S+ is (DOWN|UP)/.test(l));
  const lines = all.slice(all.findIndex((l) => /3 active/.test(l)) + 1);
  t.diagnostic(`haproxy: ${lines.length} health transitions\n${lines.map((l) => l.slice(0, 160)).join('\n')}`);
}
