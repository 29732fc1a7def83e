/** src/etcd/members.ts against a fake etcd: retry and progress of promote, idempotent add and remove. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EtcdError, type EtcdClient, type EtcdMember, type EtcdStatus } from '../../src/etcd/client.js';
import { addLearner, ETCD_ERRORS, promoteWhenCaughtUp, removeMember } from '../../src/etcd/members.js';

const leader: EtcdMember = { ID: '1', name: 'cp1', peerURLs: ['https://10.0.0.1:2380'], clientURLs: ['https://10.0.0.1:2379'], isLearner: false };
const learner: EtcdMember = { ID: '255', name: 'cp2', peerURLs: ['https://10.0.0.2:2380'], clientURLs: ['https://10.0.0.2:2379'], isLearner: true };

const answer = (details: string, code = 9): EtcdError => new EtcdError(`etcd x: ${details}`, details, code);

function fakeEtcd(
  members: EtcdMember[],
  hooks: Partial<EtcdClient> = {},
  raftIndex: Record<string, string> = {},
): { client: EtcdClient; connect: (u: string) => EtcdClient } {
  const status = (url: string): EtcdStatus => ({
    header: { member_id: '0', cluster_id: '7' },
    version: '3.6.8',
    leader: '1',
    raftIndex: raftIndex[url] ?? '0',
    raftTerm: '2',
    raftAppliedIndex: '0',
    errors: [],
    isLearner: false,
  });
  const make = (url: string): EtcdClient => ({
    endpoint: url,
    memberAdd: async () => ({ member: learner, members: [...members, learner] }),
    memberRemove: async (id) => members.filter((m) => m.ID !== id),
    memberList: async () => members,
    memberPromote: async () => members,
    status: async () => status(url),
    snapshot: async () => 0,
    close: () => undefined,
    ...hooks,
  });
  return { client: make(leader.clientURLs[0]!), connect: make };
}

test('promote retries "not in sync" with progress lines, then succeeds', async () => {
  let calls = 0;
  const lines: string[] = [];
  const { client, connect } = fakeEtcd(
    [leader, learner],
    {
      memberPromote: async () => {
        if (++calls < 3) throw answer(ETCD_ERRORS.learnerNotReady);
        return [leader, { ...learner, isLearner: false }];
      },
    },
    { 'https://10.0.0.1:2379': '1300', 'https://10.0.0.2:2379': '1234' },
  );
  const members = await promoteWhenCaughtUp(client, connect, learner.ID, { timeoutMs: 5000, intervalMs: 1, progress: (l) => lines.push(l) });
  assert.equal(calls, 3);
  assert.equal(members[1]!.isLearner, false);
  assert.equal(lines.length, 2);
  assert.equal(lines[0], '[etcd] learner ff is not in sync with the leader yet (attempt 1): leader cp1 at raft index 1300, the learner at 1234');
});

test('promote gives up with the member list and the leader raft index', async () => {
  const { client, connect } = fakeEtcd(
    [leader, { ...learner, name: '', clientURLs: [] }],
    { memberPromote: async () => Promise.reject(answer(ETCD_ERRORS.learnerNotReady)) },
    { 'https://10.0.0.1:2379': '42' },
  );
  await assert.rejects(promoteWhenCaughtUp(client, connect, learner.ID, { timeoutMs: 30, intervalMs: 5 }), (err: EtcdError) => {
    assert.equal(
      err.oneLine(),
      'etcd learner ff did not catch up with the leader within 0s: leader cp1 at raft index 42, the learner at (not reachable yet); ' +
        "members: cp1 (1, voter, https://10.0.0.1:2380); (not started) (ff, learner, https://10.0.0.2:2380) (check that the leader reaches the new member's peer port and read the new member's etcd log)",
    );
    assert.equal(err.details, ETCD_ERRORS.learnerNotReady);
    return true;
  });
});

test('promote of a member that is already a voter is done; other errors are not retried', async () => {
  const done = fakeEtcd([leader], { memberPromote: async () => Promise.reject(answer(ETCD_ERRORS.memberNotLearner)) });
  assert.deepEqual(await promoteWhenCaughtUp(done.client, done.connect, leader.ID, { timeoutMs: 1000, intervalMs: 1 }), [leader]);
  let calls = 0;
  const gone = fakeEtcd([leader], {
    memberPromote: async () => {
      calls++;
      throw answer(ETCD_ERRORS.memberNotFound, 5);
    },
  });
  await assert.rejects(promoteWhenCaughtUp(gone.client, gone.connect, '9', { timeoutMs: 1000, intervalMs: 1 }), /member not found/);
  assert.equal(calls, 1);
});

test('add: an existing member with the peer URL is reused; too many learners is explained', async () => {
  const again = fakeEtcd([leader, learner], { memberAdd: async () => Promise.reject(answer(ETCD_ERRORS.peerURLExists)) });
  assert.deepEqual((await addLearner(again.client, learner.peerURLs[0]!)).member, learner);
  const busy = fakeEtcd([leader, learner], { memberAdd: async () => Promise.reject(answer(ETCD_ERRORS.tooManyLearners)) });
  await assert.rejects(addLearner(busy.client, 'https://10.0.0.3:2380'), /another learner has not been promoted yet \(members: cp1 .*cp2 \(ff, learner/);
});

test('remove: a member already gone counts as removed', async () => {
  const { client } = fakeEtcd([leader], { memberRemove: async () => Promise.reject(answer(ETCD_ERRORS.memberNotFound, 5)) });
  assert.deepEqual(await removeMember(client, '255'), [leader]);
});

test('remove: "unhealthy cluster" (a quorum connected for less than 5 s) is retried', async () => {
  let calls = 0;
  const { client } = fakeEtcd([leader, learner], {
    memberRemove: async () => {
      if (++calls < 3) throw answer(ETCD_ERRORS.unhealthy, 14);
      return [leader];
    },
  });
  assert.deepEqual(await removeMember(client, '255', { intervalMs: 1 }), [leader]);
  assert.equal(calls, 3);
});

test('removal verdict: 3 → 2 is safe, 2 → 1 and a cluster with a voter down are not; the last and a learner', async () => {
  const { removalVerdict } = await import('../../src/etcd/members.js');
  const m = (id: string, name: string, isLearner = false): EtcdMember => ({ ID: id, name, peerURLs: [], clientURLs: [], isLearner });
  const three = [m('1', 'cp1'), m('2', 'cp2'), m('3', 'cp3')];
  assert.deepEqual(removalVerdict(three, new Set(['1', '2', '3']), '3'), {
    safe: true,
    last: false,
    reason: '2 healthy voting member(s) would be left (cp1, cp2) of the 3 now, and quorum is 2',
  });
  assert.equal(removalVerdict(three, new Set(['2', '3']), '3').safe, false, 'cp1 down: only cp2 would be left');
  assert.deepEqual(removalVerdict(three.slice(0, 2), new Set(['1', '2']), '2'), {
    safe: false,
    last: false,
    reason: '1 healthy voting member(s) would be left (cp1) of the 2 now, and quorum is 2',
  });
  assert.equal(removalVerdict([m('1', 'cp1')], new Set(['1']), '1').last, true);
  assert.equal(removalVerdict([m('1', 'cp1'), m('2', 'cp2', true)], new Set(), '2').safe, true);
});

test('add: "unhealthy cluster" right after the previous join is retried, then given up', async () => {
  let calls = 0;
  const { client } = fakeEtcd([leader], {
    memberAdd: async () => {
      if (++calls < 3) throw answer(ETCD_ERRORS.unhealthy, 14);
      return { member: learner, members: [leader, learner] };
    },
  });
  assert.deepEqual((await addLearner(client, learner.peerURLs[0]!, { intervalMs: 1 })).member, learner);
  assert.equal(calls, 3);
  const never = fakeEtcd([leader], { memberAdd: async () => Promise.reject(answer(ETCD_ERRORS.unhealthy, 14)) });
  await assert.rejects(addLearner(never.client, learner.peerURLs[0]!, { timeoutMs: 20, intervalMs: 1 }), /unhealthy cluster/);
});
