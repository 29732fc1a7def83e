/**
 * join benchmark: on one kubestrap control plane (test bed node cp1), the time from starting a
 * join command on a fresh worker node to that Node being Ready in the API, for
 *  - kubeadm (the reference): the real `kubeadm join` with the command init printed, its kubelet
 *    started where kubeadm asks systemd for it (test/support/kubeadm-join.ts);
 *  - ours: `kubestrap join` with the same kubelet binary and the same machine settings.
 * Each trial joins a new node per side (the bed has one per side and trial, with its own
 * containerd and private mounts), sides alternating so neither always goes first; the Node is
 * polled every 50 ms with admin.conf. Per trial it prints the moments some output lines appeared,
 * the TLS bootstrap (kubelet.conf written) and join's own exit, then the medians `kubeadm-join-s`,
 * `kubestrap-join-s` and last `join-ratio: <ours/kubeadm>` (target ≤ 0.8).
 *
 * BENCH_JOIN_TRIALS (default 3) sets the number of trials; BENCH_QUICK=1 is one trial (a smoke
 * run for `npm test`: the figures mean nothing); BENCH_JOIN_VERBOSE=1 prints every output line
 * of the join commands with its time. Until `kubestrap join` exists in this tree only
 * the kubeadm side runs, and the ratio is `n/a`.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { Host } from '../src/host/host.js';
import { kubeClient, type KubeClient } from '../src/kube/client.js';
import { startCluster, type Cluster } from '../test/support/cluster.js';
import { components } from '../test/support/components.js';
import { enablePodNetwork } from '../test/support/cni.js';
import { buildCli, REPO } from '../test/support/init-e2e.js';
import { joinNode, kubestrapJoinAvailable, type Joiner } from '../test/support/node-join.js';
import type { LinesResult } from '../test/support/proc.js';
import type { TestbedNode } from '../test/support/testbed.js';

const QUICK = process.env.BENCH_QUICK === '1';
const TRIALS = Number(process.env.BENCH_JOIN_TRIALS ?? (QUICK ? 1 : 3));
/** BENCH_JOIN_VERBOSE=1: every output line of both join commands, timestamped (where the time goes). */
const VERBOSE = process.env.BENCH_JOIN_VERBOSE === '1';
const POLL_MS = 50;
const TIMEOUT_MS = 240_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Output lines whose first appearance is worth a timestamp (kubeadm's wording; ours follows it). */
const MARKS: readonly [string, RegExp][] = [
  ['preflight', /^\[preflight\] Running pre-flight checks/],
  ['discovered', /^\[preflight\] Reading configuration|^\[discovery\]|\[kubelet-start\] Writing kubelet configuration/],
  ['kubelet-start', /\[kubelet-start\] Starting the kubelet/],
  ['tls-wait', /Waiting for the kubelet to perform the TLS Bootstrap/],
];

interface Trial {
  /** Seconds from start to the Node Ready. */
  readyS: number;
  /** Seconds from start to the marks, kubelet.conf written and the join command's exit. */
  marks: Record<string, number>;
}

/** Trial i's node of a side: ka1, ks1, ... */
const nodeName = (side: Joiner, i: number): string => `${side === 'kubeadm' ? 'ka' : 'ks'}${i + 1}`;

const nodeReady = (n: V1Node | undefined): boolean => n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

async function trial(side: Joiner, node: TestbedNode, cluster: Cluster, client: KubeClient): Promise<Trial> {
  await enablePodNetwork(cluster.bed, node);
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  const at = (): number => (performance.now() - t0) / 1000;
  const onLine = (line: string): void => {
    if (VERBOSE) console.log(`#   ${at().toFixed(3)} ${side}: ${line.slice(0, 160)}`);
    for (const [name, re] of MARKS) if (marks[name] === undefined && re.test(line)) marks[name] = at();
  };
  let exited: LinesResult | undefined;
  const joining = joinNode(side, node, cluster.cp.join, { timeoutMs: TIMEOUT_MS, onLine }).then((r) => {
    marks.exit = at();
    exited = r;
    return r;
  });
  const kubeletConf = path.join(node.rootfs, 'etc/kubernetes/kubelet.conf');
  let readyS: number | undefined;
  while (readyS === undefined && at() * 1000 < TIMEOUT_MS) {
    if (exited && exited.code !== 0) break;
    if (marks['tls-bootstrapped'] === undefined && existsSync(kubeletConf)) marks['tls-bootstrapped'] = at();
    const n = await client.core.readNode({ name: node.name }).catch(() => undefined);
    if (nodeReady(n)) readyS = at();
    else await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const result = await joining;
  if (result.code !== 0) throw new Error(`${side} join on ${node.name} exited ${result.code}:\n${result.output.trim()}`);
  if (readyS === undefined) throw new Error(`${side}: node ${node.name} not Ready after ${TIMEOUT_MS / 1000} s`);
  return { readyS, marks };
}

async function main(): Promise<void> {
  console.log(`# ${await buildCli()} (${REPO})`);
  const ours = await kubestrapJoinAvailable();
  const sides: Joiner[] = ours ? ['kubeadm', 'kubestrap'] : ['kubeadm'];
  const workers = Array.from({ length: TRIALS }, (_, i) => sides.map((s) => nodeName(s, i))).flat();
  console.log(
    `# trials: ${TRIALS}${QUICK ? ' (quick mode: the figures mean nothing)' : ''}; kubelet ${components().binaries.kubelet.version}; node ${process.version}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  if (!ours) console.log('# kubestrap join is not in this tree yet: only the kubeadm side runs');
  const t0 = performance.now();
  const cluster = await startCluster({ workers, containerd: true, containerdNodes: workers, privateMounts: workers, images: ['pause'] });
  try {
    console.log(`# control plane on ${cluster.cp.node.name} and ${workers.length} worker nodes up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // the JWS comes from the controller-manager some seconds after init: neither side is to time that
    const jwsMs = await cluster.cp.waitForJoinToken();
    console.log(`# cluster-info signed for the token ${(jwsMs / 1000).toFixed(1)} s later`);
    await import('@kubernetes/client-node'); // loaded once, not inside the first measurement
    const client = await kubeClient('/etc/kubernetes/admin.conf', new Host(cluster.cp.rootfs));
    const results = new Map<Joiner, number[]>(sides.map((s) => [s, []]));
    for (let i = 0; i < TRIALS; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const node = cluster.bed.node(nodeName(side, i));
        const r = await trial(side, node, cluster, client);
        results.get(side)!.push(r.readyS);
        const marks = Object.entries(r.marks)
          .sort((a, b) => a[1] - b[1])
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ');
        console.log(`# trial ${i + 1} ${side} on ${node.name}: Node Ready ${r.readyS.toFixed(2)} s (at s: ${marks})`);
      }
    }
    const kubeadmS = median(results.get('kubeadm')!);
    console.log(`kubeadm-join-s: ${kubeadmS.toFixed(2)}`);
    if (ours) {
      const oursS = median(results.get('kubestrap')!);
      console.log(`kubestrap-join-s: ${oursS.toFixed(2)}`);
      console.log(`join-ratio: ${(oursS / kubeadmS).toFixed(2)}`);
    } else {
      console.log('join-ratio: n/a (no kubestrap join in this tree)');
    }
  } finally {
    const notes = await cluster.stop();
    if (notes.length > 0) console.log(`#   cleanup: ${notes.join('; ')}`);
  }
}

await main();
