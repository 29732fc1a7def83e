/**
 * Stacked etcd membership against real etcd with mutual TLS: init's certs and etcd manifest make a
 * one-member cluster; a learner that never starts is refused promotion (the "never catches up"
 * case, with the member list and the leader's raft index) and removed; then a second etcd joins with
 * --initial-cluster-state=existing, is promoted, both vote, and it is removed again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { etcdClient, hexId, type EtcdClient, type EtcdTls } from '../../src/etcd/client.js';
import { addLearner, listMembers, promoteWhenCaughtUp, removeMember } from '../../src/etcd/members.js';
import { readEtcdTls } from '../../src/etcd/tls.js';
import { Host } from '../../src/host/host.js';
import { memoryPrinter } from '../../src/output.js';
import { RESET_PHASES } from '../../src/phases/reset/index.js';
import { Runner } from '../../src/phases/runner.js';
import { stringify } from 'yaml';
import { startControlPlane, type ControlPlane } from '../support/apiserver.js';
import { components } from '../support/components.js';
import { startProcess, waitFor, waitPortsFree, type Proc } from '../support/proc.js';

let cp: ControlPlane;
let tls: EtcdTls;
let client: EtcdClient;
let second: Proc | undefined;
const SECOND = { client: 22_479, peer: 22_480, metrics: 22_481 };
const url = (port: number): string => `https://127.0.0.1:${port}`;

before(async () => {
  await waitPortsFree(Object.values(SECOND));
  cp = await startControlPlane({ run: ['etcd'], portOffset: 20_000 });
  tls = await readEtcdTls(cp.host, cp.config.paths.pkiDir);
  client = etcdClient(url(cp.ports.etcdClient), tls);
  await waitFor(
    'etcd has a leader',
    async () => {
      const s = await client.status().catch(() => undefined);
      return s && s.leader !== '0' ? true : undefined;
    },
    30_000,
  );
});

after(async () => {
  client?.close();
  await second?.stop(5000);
  await cp?.stop();
});

const connect = (endpoint: string): EtcdClient => etcdClient(endpoint, tls, { timeoutMs: 2000 });

test('a learner that never catches up: promote fails with the members and the raft index, then remove', async () => {
  const { member } = await addLearner(client, url(SECOND.peer));
  assert.equal(member.isLearner, true);
  const lines: string[] = [];
  const start = Date.now();
  await assert.rejects(promoteWhenCaughtUp(client, connect, member.ID, { timeoutMs: 2000, intervalMs: 400, progress: (l) => lines.push(l) }), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(
        `^etcd learner ${hexId(member.ID)} did not catch up with the leader within 2s: leader cp1 at raft index \\d+, the learner at \\(not reachable yet\\); members: cp1 \\([0-9a-f]+, voter, https://127.0.0.1:${cp.ports.etcdPeer}\\); \\(not started\\) \\(${hexId(member.ID)}, learner, ${url(SECOND.peer)}\\)$`,
      ),
    );
    return true;
  });
  console.log(`# promote gave up after ${Date.now() - start} ms with ${lines.length} progress lines; last: ${lines.at(-1)}`);
  assert.ok(lines.length >= 2);
  const left = await removeMember(client, member.ID);
  assert.deepEqual(
    left.map((m) => m.name),
    ['cp1'],
  );
});

test('add a learner, start it with --initial-cluster-state=existing, promote: two voters; remove', async () => {
  const { member } = await addLearner(client, url(SECOND.peer));
  const pki = (rel: string): string => cp.host.path(path.posix.join(cp.config.paths.pkiDir, rel));
  const started = Date.now();
  second = await startProcess(
    'etcd-m2',
    components().binaries.etcd.path,
    [
      '--name=m2',
      `--data-dir=${path.join(cp.rootfs, 'm2')}`,
      `--listen-client-urls=${url(SECOND.client)}`,
      `--advertise-client-urls=${url(SECOND.client)}`,
      `--listen-peer-urls=${url(SECOND.peer)}`,
      `--initial-advertise-peer-urls=${url(SECOND.peer)}`,
      `--listen-metrics-urls=http://127.0.0.1:${SECOND.metrics}`,
      `--initial-cluster=cp1=${url(cp.ports.etcdPeer)},m2=${url(SECOND.peer)}`,
      '--initial-cluster-state=existing',
      `--cert-file=${pki('etcd/server.crt')}`,
      `--key-file=${pki('etcd/server.key')}`,
      `--trusted-ca-file=${pki('etcd/ca.crt')}`,
      '--client-cert-auth=true',
      `--peer-cert-file=${pki('etcd/peer.crt')}`,
      `--peer-key-file=${pki('etcd/peer.key')}`,
      `--peer-trusted-ca-file=${pki('etcd/ca.crt')}`,
      '--peer-client-cert-auth=true',
    ],
    { logFile: path.join(cp.rootfs, 'logs', 'etcd-m2.log') },
  );
  const lines: string[] = [];
  const members = await promoteWhenCaughtUp(client, connect, member.ID, { timeoutMs: 60_000, intervalMs: 200, progress: (l) => lines.push(l) });
  console.log(`# learner promoted ${Date.now() - started} ms after its etcd started (${lines.length} "not in sync" answers)`);
  assert.deepEqual(members.map((m) => [m.name, m.isLearner]).sort(), [
    ['cp1', false],
    ['m2', false],
  ]);
  const listed = await listMembers(client);
  assert.equal(listed.filter((m) => !m.isLearner).length, 2);
  // what the HA must-show prints: etcdctl (built by the harness) sees the same two voters
  const pkiFile = (rel: string): string => cp.host.path(path.posix.join(cp.config.paths.pkiDir, rel));
  const table = execFileSync(
    // until every worktree's prepare knows etcdctl, another one may rewrite components.json without it
    components().binaries.etcdctl?.path ?? path.join(components().binDir, 'etcdctl'),
    [
      `--endpoints=${url(cp.ports.etcdClient)}`,
      `--cacert=${pkiFile('etcd/ca.crt')}`,
      `--cert=${pkiFile('etcd/healthcheck-client.crt')}`,
      `--key=${pkiFile('etcd/healthcheck-client.key')}`,
      'member',
      'list',
      '-w',
      'simple',
    ],
    { encoding: 'utf8' },
  );
  console.log(`# etcdctl member list:\n${table.trimEnd().replace(/^/gm, '#   ')}`);
  const rows = table
    .trim()
    .split('\n')
    .map((l) => l.split(', '));
  assert.deepEqual(rows.map((r) => [r[1], r[2], r[5]]).sort(), [
    ['started', 'cp1', 'false'],
    ['started', 'm2', 'false'],
  ]);
  // the new member answers for itself and follows the same leader
  const own = connect(url(SECOND.client));
  try {
    const s = await waitFor('m2 status', async () => own.status().catch(() => undefined), 10_000);
    assert.equal(s.isLearner, false);
    assert.equal(s.leader, (await client.status()).leader);
  } finally {
    own.close();
  }
  // reset on the new member's node: its remove-etcd-member phase refuses (1 healthy voter of 2 would
  // be left), nothing changed; with --force it removes the member
  const m2Root = await mkdtemp(path.join(os.tmpdir(), 'kubestrap-m2-'));
  try {
    const m2Host = new Host(m2Root);
    await cp2(m2Host);
    const reset = (force: boolean): { run: () => Promise<unknown>; out: ReturnType<typeof memoryPrinter> } => {
      const out = memoryPrinter();
      const ctx = { host: m2Host, out, force, certificatesDir: cp.config.paths.pkiDir, input: process.stdin };
      return { out, run: () => new Runner(RESET_PHASES.filter((ph) => ph.name === 'remove-etcd-member')).run(ctx) };
    };
    await assert.rejects(reset(false).run(), (err: Error) => {
      assert.match(
        err.message,
        /^removing etcd member m2 \([0-9a-f]+\) would lose quorum: 1 healthy voting member\(s\) would be left \(cp1\) of the 2 now, and quorum is 2; members: cp1 .*; m2 /,
      );
      return true;
    });
    assert.equal((await listMembers(client)).length, 2, 'nothing removed');
    const removing = Date.now();
    const forced = reset(true);
    await forced.run();
    console.log(`# reset --force on m2 after ${Date.now() - removing} ms: ${forced.out.lines.join(' | ')}`);
    assert.deepEqual(
      (await listMembers(client)).map((m) => m.name),
      ['cp1'],
    );
  } finally {
    await rm(m2Root, { recursive: true, force: true });
  }

  /** m2's node: its etcd manifest (the flags reset reads) and the etcd client files. */
  async function cp2(h: Host): Promise<void> {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      spec: {
        containers: [{ name: 'etcd', command: ['etcd', `--advertise-client-urls=${url(SECOND.client)}`, `--initial-advertise-peer-urls=${url(SECOND.peer)}`] }],
      },
    };
    await h.mkdir('/etc/kubernetes/manifests', 0o755);
    await h.writeFile('/etc/kubernetes/manifests/etcd.yaml', stringify(manifest), 0o600);
    await h.mkdir(path.posix.join(cp.config.paths.pkiDir, 'etcd'), 0o755);
    for (const f of ['etcd/ca.crt', 'etcd/healthcheck-client.crt', 'etcd/healthcheck-client.key']) {
      const file = path.posix.join(cp.config.paths.pkiDir, f);
      await h.writeFile(file, (await cp.host.readOptional(file))!, 0o600);
    }
  }
  await waitFor('m2 exits after its removal', async () => (second!.running() ? undefined : true), 15_000).catch(() => undefined);
});
