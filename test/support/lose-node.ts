/**
 * Issue 13's "survive a lost node", shared by the two e2e files (one per API load balancer):
 * three control planes (cp1 init --upload-certs, cp2 and cp3 `join --control-plane`) and w1, a
 * kubelet worker, reaching the API either through HAProxy in its own bed node (`haproxy`) or
 * through w1's node-local balancer on 127.0.0.1:7443 (`node-local`: cp1 init --node-local-lb, w1
 * join --node-local-lb, no load-balancer namespace). Then cp1 is taken away — every process in its
 * network namespace SIGKILLed (its agent and the control-plane processes it ran) and its link cut
 * (`ip link set <veth> down`) — and, through the balancer, the API must answer again within
 * seconds, a Deployment must scale, and the controller-manager and scheduler Leases must move to
 * another holder. cp1 comes back (link up, its agent started again with its own command line):
 * its etcd member catches up (raft index) and its mirror pods run again. A client on w1 polls
 * /readyz through the balancer every 100 ms the whole time: the longest run of failures is how long
 * the API was unavailable.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { clusterSkipReason } from './cluster.js';
import { components } from './components.js';
import { controlPlaneNodeNames, startHaCluster, type HaCluster } from './ha-cluster.js';
import { startHaproxy, type ApiLoadBalancer } from './haproxy.js';
import { waitFor, type Proc } from './proc.js';
import type { TestbedNode } from './testbed.js';
import { deployment } from './workloads.js';

const run = promisify(execFile);

export type LoadBalancerKind = 'haproxy' | 'node-local';

/** What the scenario measured, for the test's diagnostics and docs/ha.md. */
export interface LoseNodeReport {
  kind: LoadBalancerKind;
  /** Wall ms of each setup step (init cp1, join cp2, ...). */
  setup: Record<string, number>;
  /** From the cut until `kubectl get nodes` through the balancer answered. */
  kubectlAfterCutMs: number;
  /** Longest run of failed /readyz polls (100 ms apart) around the cut; 0 when none failed. */
  unavailableMs: number;
  failedPolls: number;
  totalPolls: number;
  /** From the first to the last failed poll after the cut: the time some requests failed (others, to a live server, did not). */
  failureWindowMs: number;
  /** From the cut until the Deployment had 2 ready replicas (scaled right after the API answered). */
  scaledAfterCutMs: number;
  /** From the cut until both Leases were renewed by a live holder (a new one where cp1's led). */
  leasesMovedAfterCutMs: number;
  leaders: { before: Record<string, string>; after: Record<string, string>; moved: string[] };
  /** From cp1's return until its etcd member's raft index reached the leader's index of that moment. */
  etcdCaughtUpMs: number;
  raft: { cp1: number; leaderAtReturn: number };
  /** From cp1's return until its four mirror pods ran (started after the return). */
  podsBackMs: number;
}

const MIRRORS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
const LEASES = ['kube-controller-manager', 'kube-scheduler'] as const;
const POLL_MS = 100;

/** The /readyz poller, run with node in w1's namespace: one line per answer, `<epoch ms> <status or error>`. */
const POLLER = `
const https = require('node:https');
const [host, port] = [process.argv[1], Number(process.argv[2])];
setInterval(() => {
  const t = Date.now();
  const req = https.get({ host, port, path: '/readyz', rejectUnauthorized: false, agent: false, timeout: 1000 }, (res) => {
    res.resume();
    console.log(t + ' ' + res.statusCode);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => console.log(t + ' ' + (e.code || e.message)));
}, ${POLL_MS});
`;

interface Poll {
  t: number;
  ok: boolean;
}

function readPolls(logFile: string): Poll[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .map((l) => /^(\d+) (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ t: Number(m[1]), ok: m[2] === '200' }))
    .sort((a, b) => a.t - b.t);
}

/** Longest stretch from a failed poll to the next successful one. */
function longestOutage(polls: readonly Poll[]): number {
  let longest = 0;
  let since: number | undefined;
  for (const p of polls) {
    if (!p.ok) since ??= p.t;
    else if (since !== undefined) {
      longest = Math.max(longest, p.t - since);
      since = undefined;
    }
  }
  if (since !== undefined) longest = Math.max(longest, polls.at(-1)!.t - since);
  return longest;
}

function webDeployment(): string {
  return stringify(
    deployment('web', 1, {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'pause', image: `registry.k8s.io/pause:${components().pauseVersion}`, imagePullPolicy: 'Never' }],
    }),
  );
}

const ready = (n: V1Node): boolean => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Every pid in the node's network namespace. */
async function netnsPids(node: TestbedNode): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', node.netns]).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** SIGKILL (a power cut, not a shutdown) until nothing runs in the node's namespace. */
async function killNode(node: TestbedNode): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const pids = await netnsPids(node);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`processes still run in ${node.netns}: ${(await netnsPids(node)).join(' ')}`);
}

const hostVeth = (cluster: HaCluster, node: TestbedNode): string => `ksv${cluster.bed.run}-${node.index}`;

export async function loseNodeScenario(kind: LoadBalancerKind, note: (line: string) => void, register: (c: HaCluster) => void): Promise<LoseNodeReport> {
  const state: { lb?: ApiLoadBalancer } = {};
  const cps = ['cp1', 'cp2', 'cp3'];
  const cluster = await startHaCluster({
    controlPlanes: cps,
    workers: ['w1'],
    join: false,
    ...(kind === 'haproxy'
      ? {
          extraNodes: ['lb'],
          beforeInit: async (bed) => {
            state.lb = await startHaproxy(bed.node('lb'), { servers: cps.map((name) => ({ name, host: bed.node(name).ip, port: 6443 })) });
          },
          endpoint: () => state.lb!.endpoint,
        }
      : { initExtraArgs: ['--node-local-lb'], workerJoinArgs: ['--node-local-lb'] }),
  });
  register(cluster);
  const [cp1, cp2, cp3] = cluster.controlPlanes as [TestbedNode, TestbedNode, TestbedNode];
  const others = [cp2, cp3];
  const w1 = cluster.workers[0]!;
  await cluster.cp1.waitForJoinToken();
  for (const node of others) {
    const res = await cluster.joinControlPlane(node);
    if (res.code !== 0) throw new Error(`join --control-plane on ${node.name} exited ${res.code}:\n${res.stderr}\n${res.stdout}`);
  }
  const joined = await cluster.joinWorker(w1);
  if (joined.code !== 0) throw new Error(`join on w1 exited ${joined.code}:\n${joined.output}`);

  // the client's side of the balancer: the host through HAProxy, or w1 through its own 127.0.0.1:7443
  const viaLb = path.join(w1.dir, 'via-lb.conf');
  const admin = parse(await readFile(cluster.cp1.adminConf, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
  const lbHost = kind === 'haproxy' ? state.lb!.node.ip : '127.0.0.1';
  const lbPort = kind === 'haproxy' ? 6443 : 7443;
  admin.clusters[0]!.cluster.server = `https://${lbHost}:${lbPort}`;
  await writeFile(viaLb, stringify(admin), { mode: 0o600 });
  const kubectl = async (args: readonly string[], timeoutMs = 20_000): Promise<string> =>
    (await w1.exec(components().binaries.kubectl.path, ['--kubeconfig', viaLb, `--request-timeout=${Math.ceil(timeoutMs / 1000)}s`, ...args], { timeoutMs }))
      .stdout;
  const kubectlJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;

  // the cluster as the first "Must show" says
  const members = await cluster.members();
  if (members.length !== 3 || members.some((m) => m.isLearner)) throw new Error(`etcd members: ${JSON.stringify(members)}`);
  await waitFor(
    '4 Ready nodes, 3 with the control-plane role',
    async () => {
      const nodes = (await kubectlJson<{ items: V1Node[] }>(['get', 'nodes']).catch(() => ({ items: [] }))).items;
      return nodes.length === 4 && nodes.every(ready) && controlPlaneNodeNames(nodes).join(',') === cps.join(',') ? true : undefined;
    },
    180_000,
    500,
  );
  const mirrorsRunning = async (node: string, startedAfter = 0): Promise<boolean> => {
    const pods = (await kubectlJson<{ items: V1Pod[] }>(['get', 'pods', '-n', 'kube-system', '--field-selector', `spec.nodeName=${node}`])).items;
    return MIRRORS.every((m) =>
      pods.some(
        (p) =>
          p.metadata?.name === `${m}-${node}` &&
          p.status?.phase === 'Running' &&
          (p.status.containerStatuses ?? []).every((c) => c.ready && Date.parse(String(c.state?.running?.startedAt ?? 0)) >= startedAfter),
      ),
    );
  };
  await waitFor(
    'every control plane runs its four mirror pods',
    async () => ((await Promise.all(cps.map((n) => mirrorsRunning(n)))).every(Boolean) ? true : undefined),
    120_000,
    500,
  );
  await writeFile(path.join(w1.dir, 'web.yaml'), webDeployment());
  await kubectl(['apply', '-f', path.join(w1.dir, 'web.yaml')]);
  interface Scaled {
    status?: { readyReplicas?: number };
  }
  const readyReplicas = async (): Promise<number> => {
    const d = await kubectlJson<Scaled>(['get', 'deployment', 'web']).catch((): Scaled => ({}));
    return d.status?.readyReplicas ?? 0;
  };
  await waitFor('web with 1 ready replica', async () => ((await readyReplicas()) >= 1 ? true : undefined), 120_000, 500);
  interface LeaseDoc {
    spec?: { holderIdentity?: string; renewTime?: string };
  }
  const leases = async (): Promise<Record<string, { holder: string; renewed: number }>> => {
    const out: Record<string, { holder: string; renewed: number }> = {};
    for (const l of LEASES) {
      const spec = (await kubectlJson<LeaseDoc>(['get', 'lease', '-n', 'kube-system', l])).spec;
      out[l] = { holder: spec?.holderIdentity ?? '', renewed: Date.parse(spec?.renewTime ?? '') || 0 };
    }
    return out;
  };
  const holders = (ls: Record<string, { holder: string }>): Record<string, string> => Object.fromEntries(LEASES.map((l) => [l, ls[l]!.holder]));
  // cp1 started first, so it normally leads both. Identities are `<hostname>_<uuid>` and every bed node
  // shares this machine's hostname, so a Lease tells not the node, only the process
  const before = holders(await leases());
  note(`leaders before: ${JSON.stringify(before)}; setup ${JSON.stringify(cluster.timings)}`);

  const poller: Proc = await w1.spawn('readyz-poller', process.execPath, ['-e', POLLER, lbHost, String(lbPort)]);
  await new Promise((r) => setTimeout(r, 2000));
  const agentPid = Number(await readFile(path.join(cp1.rootfs, 'run/kubestrap-agent.pid'), 'utf8'));
  const agentArgv = readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const cut = Date.now();
  const killed = await killNode(cp1);
  await run('ip', ['link', 'set', hostVeth(cluster, cp1), 'down']);
  note(`cp1 taken away: ${killed} processes killed, ${hostVeth(cluster, cp1)} down`);

  await waitFor('kubectl get nodes through the balancer', () => kubectl(['get', 'nodes', '-o', 'name'], 5000).catch(() => undefined), 60_000, 100);
  const kubectlAfterCutMs = Date.now() - cut;
  await kubectl(['scale', 'deployment', 'web', '--replicas=2']);
  await waitFor('web scaled to 2 ready replicas', async () => ((await readyReplicas()) >= 2 ? true : undefined), 120_000, 250);
  const scaledAfterCutMs = Date.now() - cut;
  // renewed after the cut: held by a live process, so not by cp1's (killed); a new identity: it moved
  const after = await waitFor(
    'the controller-manager and scheduler Leases renewed by a live holder',
    async () => {
      const ls = await leases().catch(() => undefined);
      return ls && LEASES.every((l) => ls[l]!.renewed > cut + 2000) ? holders(ls) : undefined;
    },
    120_000,
    250,
  );
  const leasesMovedAfterCutMs = Date.now() - cut;
  const moved = LEASES.filter((l) => after[l] !== before[l]);
  if (moved.length < LEASES.length) note(`kept their holder (it was not on cp1): ${LEASES.filter((l) => !moved.includes(l)).join(', ')}`);
  await new Promise((r) => setTimeout(r, 1000));
  await poller.stop();
  const polls = readPolls(poller.logFile).filter((p) => p.t >= cut - 1000);
  const unavailableMs = longestOutage(polls);
  const failed = polls.filter((p) => !p.ok);

  // cp1 comes back: its link, then its agent with the same command line (it restarts its static pods)
  await run('ip', ['link', 'set', hostVeth(cluster, cp1), 'up']);
  const back = Date.now();
  /** The raft index of `via`'s own etcd member (etcdctl in its namespace, its certificates). */
  const raftIndex = async (via: TestbedNode): Promise<number> =>
    (JSON.parse(await cluster.etcdctl(['endpoint', 'status', '-w', 'json'], via)) as { Status: { raftIndex: number } }[])[0]!.Status.raftIndex;
  const leaderIndex = Math.max(...(await Promise.all(others.map(raftIndex))));
  const agent = await cp1.spawn('agent-again', agentArgv[0]!, agentArgv.slice(1), { env: { ...process.env, NODE_OPTIONS: '' } });
  await writeFile(path.join(cp1.rootfs, 'run/kubestrap-agent.pid'), `${agent.pid}\n`);
  const raft = await waitFor(
    "cp1's etcd member to catch up",
    async () => {
      const index = await raftIndex(cp1).catch(() => 0);
      return index >= leaderIndex ? index : undefined;
    },
    180_000,
    250,
  );
  const etcdCaughtUpMs = Date.now() - back;
  await waitFor(
    "cp1's mirror pods running again",
    async () => ((await mirrorsRunning('cp1', back - 1000).catch(() => false)) ? true : undefined),
    180_000,
    500,
  );
  const podsBackMs = Date.now() - back;
  return {
    kind,
    setup: cluster.timings,
    kubectlAfterCutMs,
    unavailableMs,
    failedPolls: polls.filter((p) => !p.ok).length,
    failureWindowMs: failed.length ? failed.at(-1)!.t - failed[0]!.t : 0,
    totalPolls: polls.length,
    scaledAfterCutMs,
    leasesMovedAfterCutMs,
    leaders: { before, after, moved },
    etcdCaughtUpMs,
    raft: { cp1: raft, leaderAtReturn: leaderIndex },
    podsBackMs,
  };
}

/** The e2e test of one balancer kind: the scenario, its figures as diagnostics, the cluster stopped whatever happens. */
export function loseNodeTest(kind: LoadBalancerKind): void {
  test(`${kind}: the API survives losing cp1, and cp1 catches up when it returns`, { skip: clusterSkipReason(), timeout: 900_000 }, async (t) => {
    let cluster: HaCluster | undefined;
    t.after(async () => {
      if (cluster) t.diagnostic(`stop: ${(await cluster.stop()).join('; ') || 'reset left nothing to force'}`);
    });
    const r = await loseNodeScenario(
      kind,
      (l) => t.diagnostic(l),
      (c) => (cluster = c),
    );
    t.diagnostic(
      `API unavailable for ${r.unavailableMs} ms (${r.failedPolls} of ${r.totalPolls} /readyz polls failed, within ${r.failureWindowMs} ms); kubectl answered ${r.kubectlAfterCutMs} ms after the cut, web scaled after ${r.scaledAfterCutMs} ms, Leases moved after ${r.leasesMovedAfterCutMs} ms`,
    );
    t.diagnostic(
      `leaders ${JSON.stringify(r.leaders)}; cp1 back: etcd caught up in ${r.etcdCaughtUpMs} ms (${JSON.stringify(r.raft)}), mirror pods in ${r.podsBackMs} ms`,
    );
    assert.ok(r.kubectlAfterCutMs < 30_000, `kubectl through the balancer took ${r.kubectlAfterCutMs} ms after the cut`);
  });
}
