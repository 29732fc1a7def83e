/**
 * HA control-plane join on the test bed (issue 13a): cp1 `init --upload-certs
 * --control-plane-endpoint <cp1:6443>`, cp2 and cp3 `join --control-plane --certificate-key K` from
 * init's printed command (process runtime), w1 joins as a worker. Before cp3 joins, the bad inputs,
 * one line each and nothing written: no controlPlaneEndpoint in the cluster, a wrong key, the
 * Secret gone (then re-uploaded with a new key by `init phase upload-certs --upload-certs`, the old
 * key told apart), and a learner that never catches up (cp3's peer port blocked in its namespace;
 * the learner is removed again). Then: 3 voting members (etcdctl), 4 Ready nodes, the three with the
 * control-plane role and their four mirror pods Running; reset cp3 → 2 members and healthy; reset
 * cp2 refuses (quorum) unless --force.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { V1ConfigMap, V1NodeList, V1PodList } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { clusterSkipReason, waitNodeReady } from '../support/cluster.js';
import { controlPlaneNodeNames, startHaCluster, type HaCluster } from '../support/ha-cluster.js';
import type { CliResult } from '../support/init-e2e.js';
import { waitFor } from '../support/proc.js';
import type { TestbedNode } from '../support/testbed.js';

const skip = clusterSkipReason();
let cluster: HaCluster;

before(async () => {
  if (skip) return;
  cluster = await startHaCluster({ join: false });
  await cluster.cp1.waitForJoinToken();
});

after(async () => {
  const notes = await cluster?.stop();
  if (notes?.length) console.log(`# cleanup: ${notes.join('; ')}`);
});

const node = (name: string): TestbedNode => cluster.bed.node(name);

/** stderr's lines (warnings aside). */
const errorLines = (r: CliResult): string[] =>
  r.stderr
    .trim()
    .split('\n')
    .filter((l) => l && !/WARNING/.test(l));

/** A refused join: exit 1, one line naming what to do, and nothing under /etc/kubernetes or /var/lib/etcd. */
function assertRefused(r: CliResult, n: TestbedNode, pattern: RegExp): string {
  assert.equal(r.code, 1, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  const lines = errorLines(r);
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  for (const dir of ['etc/kubernetes', 'var/lib/etcd']) assert.equal(existsSync(path.join(n.rootfs, dir)), false, `${dir} was written`);
  return lines[0]!;
}

async function voters(): Promise<string[]> {
  return (await cluster.members())
    .filter((m) => !m.isLearner)
    .map((m) => m.name)
    .sort();
}

test('cp2 joins as a control plane: learner, promoted, two voting members', { skip }, async (t) => {
  const res = await cluster.joinControlPlane(node('cp2'));
  assert.equal(res.code, 0, `${res.stderr}\n${res.stdout}`);
  assert.match(res.stdout, /\[etcd\] Adding cp2 \(https:\/\/198\.18\.0\.\d+:2380\) as a learner/);
  assert.match(res.stdout, /\[etcd\] Promoted member [0-9a-f]+ to a voting member/);
  assert.match(res.stdout, /a new control plane instance was created/);
  assert.deepEqual(await voters(), ['cp1', 'cp2']);
  t.diagnostic(`join cp2 --control-plane: ${cluster.timings['join cp2']} ms (last line at ${res.lines.at(-1)?.ms} ms)`);
  for (const { ms, line } of res.lines.filter((l) => /^\[(etcd|agent|control-plane-check|mark-control-plane|check-etcd|download-certs)\]/.test(l.line))) {
    t.diagnostic(`+${(ms / 1000).toFixed(1)}s ${line}`);
  }
});

test('bad input on cp3: one line each, nothing written', { skip }, async (t) => {
  const cp3 = node('cp3');
  // the cluster without a controlPlaneEndpoint (kubeadm-config edited, then restored)
  const cm = await cluster.kubectlJson<V1ConfigMap>(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config']);
  const original = cm.data!.ClusterConfiguration!;
  const patch = (text: string): Promise<string> =>
    cluster.kubectl([
      '-n',
      'kube-system',
      'patch',
      'configmap',
      'kubeadm-config',
      '--type',
      'merge',
      '-p',
      JSON.stringify({ data: { ClusterConfiguration: text } }),
    ]);
  await patch(original.replace(/^controlPlaneEndpoint:.*\n/m, ''));
  try {
    const line = assertRefused(
      await cluster.joinControlPlane(cp3),
      cp3,
      /unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address/,
    );
    t.diagnostic(`no controlPlaneEndpoint: ${line}`);
  } finally {
    await patch(original);
  }

  // manual mode (no key): the shared files must be in place, and the missing ones are named
  const manual = assertRefused(
    await cluster.joinControlPlane(cp3, { certificateKey: '' }),
    cp3,
    /the shared control-plane certificates are not in place: .*\/ca\.key.*\/front-proxy-ca\.key.*\/sa\.key.*\/etcd\/ca\.key missing/,
  );
  t.diagnostic(`no key, nothing placed: ${manual}`);

  const wrong = 'ab'.repeat(32);
  const wrongLine = assertRefused(
    await cluster.joinControlPlane(cp3, { certificateKey: wrong }),
    cp3,
    /does not decrypt Secret "kube-system\/kubeadm-certs".*kubestrap init phase upload-certs --upload-certs/,
  );
  t.diagnostic(`wrong key: ${wrongLine}`);

  // the Secret gone, as 2 h after the upload
  await cluster.kubectl(['-n', 'kube-system', 'delete', 'secret', 'kubeadm-certs']);
  const goneLine = assertRefused(
    await cluster.joinControlPlane(cp3),
    cp3,
    /Secret "kubeadm-certs" was not found.*2 h.*kubestrap init phase upload-certs --upload-certs/,
  );
  t.diagnostic(`Secret gone: ${goneLine}`);

  const upload = await cluster.kubestrap(node('cp1'), ['init', 'phase', 'upload-certs', '--upload-certs', '--rootfs', node('cp1').rootfs]);
  assert.equal(upload.code, 0, upload.stderr);
  const newKey = /Using certificate key:\n([0-9a-f]{64})/.exec(upload.stdout)?.[1];
  assert.ok(newKey, upload.stdout);
  assert.notEqual(newKey, cluster.cpJoin.certificateKey);
  // the old key now: the Secret is there, the key does not open it
  assertRefused(await cluster.joinControlPlane(cp3), cp3, /does not decrypt/);
  (cluster.cpJoin as { certificateKey?: string }).certificateKey = newKey;
});

test('a learner that never catches up: progress, then the members and the leader index; the learner removed', { skip }, async (t) => {
  const cp3 = node('cp3');
  const block = async (op: '-A' | '-D'): Promise<void> => {
    for (const chain of [
      ['INPUT', '--dport'],
      ['OUTPUT', '--dport'],
    ] as const) {
      await cp3.exec('iptables', [op, chain[0], '-p', 'tcp', chain[1], '2380', '-j', 'DROP']);
    }
  };
  const config = path.join(cp3.dir, 'join-cp.yaml');
  const cmd = cluster.cpJoin;
  await writeFile(
    config,
    stringify({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      discovery: { bootstrapToken: { apiServerEndpoint: cmd.endpoint, token: cmd.token, caCertHashes: cmd.caCertHashes } },
      nodeRegistration: { name: 'cp3' },
      controlPlane: { localAPIEndpoint: { advertiseAddress: cp3.ip }, certificateKey: cmd.certificateKey },
      timeouts: { etcdAPICall: '6s' },
    }),
  );
  await block('-A');
  try {
    const t0 = performance.now();
    const res = await cluster.joinControlPlane(cp3, { config });
    t.diagnostic(`gave up after ${Math.round(performance.now() - t0)} ms`);
    assert.equal(res.code, 1, `${res.stderr}\n${res.stdout}`);
    const lines = errorLines(res);
    assert.equal(lines.length, 1, res.stderr);
    assert.match(
      lines[0]!,
      /^error execution phase etcd-join: timeouts.etcdAPICall: etcd learner [0-9a-f]+ did not catch up with the leader within 6s: leader cp\d at raft index \d+, the learner at .*; members: .*cp1 .*cp2 .*; the learner [0-9a-f]+ was removed again/,
    );
    assert.match(res.stdout, /learner [0-9a-f]+ is not in sync with the leader yet \(attempt 1\)/);
    t.diagnostic(lines[0]!);
    assert.deepEqual(await voters(), ['cp1', 'cp2']);
    assert.equal((await cluster.members()).length, 2);
  } finally {
    await block('-D');
  }
  const reset = await cluster.reset(cp3, ['--force']);
  assert.equal(reset.code, 0, reset.stderr);
});

test('cp3 and w1 join: 3 voting members, 4 Ready nodes, 3 control planes with their four mirror pods Running', { skip }, async (t) => {
  const res = await cluster.joinControlPlane(node('cp3'));
  assert.equal(res.code, 0, `${res.stderr}\n${res.stdout}`);
  const w1 = await cluster.joinWorker(node('w1'));
  assert.equal(w1.code, 0, w1.output);
  assert.deepEqual(await voters(), ['cp1', 'cp2', 'cp3']);
  t.diagnostic((await cluster.etcdctl(['member', 'list', '-w', 'table'])).trim());
  for (const n of ['cp1', 'cp2', 'cp3', 'w1']) await waitNodeReady(cluster.cp1, n);
  const nodes = await cluster.kubectlJson<V1NodeList>(['get', 'nodes']);
  assert.equal(nodes.items.length, 4);
  assert.deepEqual(controlPlaneNodeNames(nodes.items), ['cp1', 'cp2', 'cp3']);
  await waitFor(
    'the four mirror pods of each control plane Running',
    async () => {
      const pods = await cluster.kubectlJson<V1PodList>(['-n', 'kube-system', 'get', 'pods', '-l', 'tier=control-plane']);
      const running = new Set(pods.items.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata!.name!));
      const want = ['cp1', 'cp2', 'cp3'].flatMap((n) => ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => `${c}-${n}`));
      return want.every((w) => running.has(w)) ? true : undefined;
    },
    120_000,
    500,
  );
  t.diagnostic(`durations (ms): ${JSON.stringify(cluster.timings)}`);
  console.log(`# HA join figures (ms): ${JSON.stringify(cluster.timings)}`);
});

test('reset cp3 removes its member (2 left, healthy); reset cp2 then refuses (quorum) unless --force', { skip }, async (t) => {
  const t0 = performance.now();
  const since = (): string => `${Math.round(performance.now() - t0)} ms`;
  const cp3 = await cluster.reset(node('cp3'), ['--force']);
  t.diagnostic(`reset cp3 done at ${since()}`);
  for (const { ms, line } of cp3.lines.filter((l) => l.line.startsWith('['))) t.diagnostic(`  +${(ms / 1000).toFixed(1)}s ${line}`);
  assert.equal(cp3.code, 0, cp3.stderr);
  assert.match(cp3.stdout, /Removed etcd member cp3 \([0-9a-f]+\); members left: cp1 .*cp2 /);
  assert.deepEqual(await voters(), ['cp1', 'cp2']);
  const health = await cluster.etcdctl(['endpoint', 'health', '--cluster']);
  assert.equal((health.match(/is healthy/g) ?? []).length, 2, health);

  const refused = await cluster.reset(node('cp2'));
  t.diagnostic(`reset cp2 refused at ${since()}`);
  assert.equal(refused.code, 1, refused.stdout);
  const lines = errorLines(refused);
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(
    lines[0]!,
    /removing etcd member cp2 \([0-9a-f]+\) would lose quorum: 1 healthy voting member\(s\) would be left \(cp1\) of the 2 now, and quorum is 2/,
  );
  assert.match(lines[0]!, /--force/);
  t.diagnostic(lines[0]!);
  assert.ok(existsSync(path.join(node('cp2').rootfs, 'etc/kubernetes/manifests/etcd.yaml')), 'nothing removed');

  const forced = await cluster.reset(node('cp2'), ['--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout + forced.stderr, /although .*--force/);
  assert.deepEqual(await voters(), ['cp1']);
  t.diagnostic(`reset cp2 --force done at ${since()}`);
});
