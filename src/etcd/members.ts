/**
 * Stacked etcd membership as kubeadm's etcdutil does it, through etcd's API: a joining member is
 * added as a raft learner (it cannot vote, so a slow or broken one cannot cost quorum), promoted once
 * the leader says it is in sync, and removed by ID. What kubeadm leaves out is said here: progress
 * while the learner catches up, and on timeout the member list and how far behind the learner is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EtcdError, hexId, type EtcdClient, type EtcdMember } from './client.js';

/** Opens a client on another member's client URL (same TLS), for its Status. */
export type Connect = (endpoint: string) => EtcdClient;

/** etcd's answers this module acts on (api/v3/v3rpc/rpctypes/error.go). */
export const ETCD_ERRORS = {
  learnerNotReady: 'etcdserver: can only promote a learner member which is in sync with leader',
  memberNotLearner: 'etcdserver: can only promote a learner member',
  peerURLExists: 'etcdserver: Peer URLs already exists',
  tooManyLearners: 'etcdserver: too many learner members in cluster',
  memberNotFound: 'etcdserver: member not found',
  unhealthy: 'etcdserver: unhealthy cluster',
} as const;

const isAnswer = (err: unknown, text: string): boolean => err instanceof EtcdError && err.details === text;

/** `cp1 (8e9e05c52164694d, voter, https://10.0.0.1:2380)`, the shape of every member in messages. */
export function describeMember(m: EtcdMember): string {
  return `${m.name || '(not started)'} (${hexId(m.ID)}, ${m.isLearner ? 'learner' : 'voter'}, ${m.peerURLs.join(',')})`;
}

/** Voters first, then learners, each by name: the same line whatever order etcd lists them in (by ID). */
export function describeMembers(members: readonly EtcdMember[]): string {
  const rank = (m: EtcdMember): string => `${m.isLearner ? 1 : 0}${m.name}`;
  return [...members]
    .sort((a, b) => rank(a).localeCompare(rank(b)))
    .map(describeMember)
    .join('; ');
}

export async function listMembers(client: EtcdClient): Promise<EtcdMember[]> {
  return client.memberList();
}

/** How long an "unhealthy cluster" answer is retried, and how often. */
export interface UnhealthyRetryOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Runs `call`, retrying etcd's "unhealthy cluster" answer until `timeoutMs`. etcd gives it to a
 * member add or remove until the leader has been connected to a quorum for 5 s (its
 * HealthInterval): right after the previous member was added or promoted, which is exactly when the
 * next control plane joins. kubeadm's etcdutil retries these calls too.
 */
async function whileUnhealthy<T>(call: () => Promise<T>, options: UnhealthyRetryOptions): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isAnswer(err, ETCD_ERRORS.unhealthy) || Date.now() > deadline) throw err;
    }
    await sleep(options.intervalMs ?? 500);
  }
}

/**
 * Adds `peerURL` as a learner. A member with that peer URL already there (a join retried after the
 * add) is returned as it is, as kubeadm does; the caller promotes it only if it is still a learner.
 */
export async function addLearner(
  client: EtcdClient,
  peerURL: string,
  options: UnhealthyRetryOptions = {},
): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
  try {
    return await whileUnhealthy(() => client.memberAdd([peerURL], true), options);
  } catch (err) {
    if (isAnswer(err, ETCD_ERRORS.peerURLExists)) {
      const members = await client.memberList();
      const member = members.find((m) => m.peerURLs.includes(peerURL));
      if (member) return { member, members };
    }
    if (isAnswer(err, ETCD_ERRORS.tooManyLearners)) {
      const members = await client.memberList().catch(() => []);
      throw new EtcdError(
        `cannot add ${peerURL} as an etcd learner: another learner has not been promoted yet (members: ${describeMembers(members)})`,
        (err as EtcdError).details,
        (err as EtcdError).code,
        { cause: err, hint: 'wait for the other join to finish, or remove the stale learner with `etcdctl member remove`' },
      );
    }
    throw err;
  }
}

export interface PromoteOptions {
  /** Give up after this long (kubeadm: etcd's 2 min learner timeout). */
  timeoutMs: number;
  /** Between attempts (default 500 ms). */
  intervalMs?: number;
  /** One line per attempt the leader refused: how far the learner is. */
  progress?: (line: string) => void;
}

interface RaftProgress {
  leader?: EtcdMember;
  leaderIndex?: string;
  learnerIndex?: string;
}

/** The leader's and the learner's raft index, each as far as it can be read (a member may be down). */
async function raftProgress(client: EtcdClient, connect: Connect, learnerId: string): Promise<RaftProgress & { members: EtcdMember[] }> {
  const members = await client.memberList().catch((): EtcdMember[] => []);
  const statusAt = async (m: EtcdMember | undefined): Promise<string | undefined> => {
    const url = m?.clientURLs[0];
    if (!url) return undefined;
    const c = connect(url);
    try {
      return (await c.status()).raftIndex;
    } catch {
      return undefined;
    } finally {
      c.close();
    }
  };
  const own = await client.status().catch(() => undefined);
  const leader = members.find((m) => m.ID === own?.leader);
  const learner = members.find((m) => m.ID === learnerId);
  const [leaderIndex, learnerIndex] = await Promise.all([statusAt(leader), statusAt(learner)]);
  return { members, leader, leaderIndex, learnerIndex };
}

function progressText(p: RaftProgress): string {
  const leader = p.leader ? `leader ${p.leader.name || hexId(p.leader.ID)} at raft index ${p.leaderIndex ?? '(unreachable)'}` : 'no leader known';
  return `${leader}, the learner at ${p.learnerIndex ?? '(not reachable yet)'}`;
}

/**
 * Promotes learner `id` to a voting member, retrying while the leader answers "not in sync". A member
 * that is already a voter (a promote whose answer was lost) counts as done.
 */
export async function promoteWhenCaughtUp(client: EtcdClient, connect: Connect, id: string, options: PromoteOptions): Promise<EtcdMember[]> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 500;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.memberPromote(id);
    } catch (err) {
      if (isAnswer(err, ETCD_ERRORS.memberNotLearner)) return client.memberList();
      // "not in sync" is the expected answer; a transient transport error (leader change) is retried too
      if (!isAnswer(err, ETCD_ERRORS.learnerNotReady) && !(err instanceof EtcdError && err.code === 14)) throw err;
      lastError = err;
    }
    if (Date.now() + interval > deadline) break;
    if (options.progress) {
      const p = await raftProgress(client, connect, id);
      options.progress(`[etcd] learner ${hexId(id)} is not in sync with the leader yet (attempt ${attempt}): ${progressText(p)}`);
    }
    await sleep(interval);
  }
  const p = await raftProgress(client, connect, id);
  throw new EtcdError(
    `etcd learner ${hexId(id)} did not catch up with the leader within ${Math.round(options.timeoutMs / 1000)}s: ${progressText(p)}; members: ${describeMembers(p.members)}`,
    lastError instanceof EtcdError ? lastError.details : '',
    lastError instanceof EtcdError ? lastError.code : undefined,
    { cause: lastError, hint: "check that the leader reaches the new member's peer port and read the new member's etcd log" },
  );
}

/**
 * Removes member `id`; one already gone counts as removed. Returns the members left. "unhealthy
 * cluster" (e.g. right after a promote) is retried until `timeoutMs`.
 */
export async function removeMember(client: EtcdClient, id: string, options: UnhealthyRetryOptions = {}): Promise<EtcdMember[]> {
  try {
    return await whileUnhealthy(() => client.memberRemove(id), options);
  } catch (err) {
    if (isAnswer(err, ETCD_ERRORS.memberNotFound)) return client.memberList();
    throw err;
  }
}

export interface RemovalVerdict {
  /** true: removing is safe; false: it would cost quorum (refuse unless forced). */
  safe: boolean;
  /** The member is the only voter: nothing to remove it from. */
  last: boolean;
  /** One line: why, with the members named. */
  reason: string;
}

/**
 * Whether removing member `id` keeps the cluster's quorum: the healthy voters other than it must be a
 * quorum of the voters now (⌊n/2⌋+1). Stricter than etcd's own check (a quorum of the members left), on
 * purpose: 3 → 2 keeps a majority of the three, 2 → 1 leaves one of two, and a cluster with a voter
 * down is not shrunk below what it needs now. A learner never counts.
 */
export function removalVerdict(members: readonly EtcdMember[], healthy: ReadonlySet<string>, id: string): RemovalVerdict {
  const voters = members.filter((m) => !m.isLearner);
  const self = members.find((m) => m.ID === id);
  if (self?.isLearner) return { safe: true, last: false, reason: 'a learner does not vote' };
  const others = voters.filter((m) => m.ID !== id);
  if (others.length === 0) return { safe: true, last: true, reason: 'it is the only voting member' };
  const quorum = Math.floor(voters.length / 2) + 1;
  const up = others.filter((m) => healthy.has(m.ID));
  const names = (list: readonly EtcdMember[]): string => list.map((m) => m.name || hexId(m.ID)).join(', ') || 'none';
  const reason = `${up.length} healthy voting member(s) would be left (${names(up)}) of the ${voters.length} now, and quorum is ${quorum}`;
  return { safe: up.length >= quorum, last: false, reason };
}

export interface ClusterHealth {
  members: EtcdMember[];
  /** Voters whose endpoint answered Status with a leader. */
  healthy: EtcdMember[];
  /** One line per member that did not: why. */
  problems: string[];
}

/** Asks every member's first client URL for its Status (in parallel): kubeadm's getClusterStatus. */
export async function clusterHealth(client: EtcdClient, connect: Connect): Promise<ClusterHealth> {
  const members = await client.memberList();
  const healthy: EtcdMember[] = [];
  const problems: string[] = [];
  await Promise.all(
    members.map(async (m) => {
      const endpoint = m.clientURLs[0];
      if (!endpoint) return void problems.push(`${describeMember(m)}: not started (no client URL)`);
      const c = connect(endpoint);
      try {
        const s = await c.status();
        if (s.leader === '0') problems.push(`${describeMember(m)}: no leader`);
        else if (!m.isLearner) healthy.push(m);
        else problems.push(`${describeMember(m)}: still a learner`);
      } catch (err) {
        problems.push(`${describeMember(m)}: ${err instanceof EtcdError ? err.details : String(err)}`);
      } finally {
        c.close();
      }
    }),
  );
  return { members, healthy, problems };
}

/**
 * Waits until every member answers with a leader and none is a learner (kubeadm's
 * WaitForClusterAvailable), polling every `intervalMs`; on timeout the last problems are the error.
 */
export async function waitClusterHealthy(client: EtcdClient, connect: Connect, options: { timeoutMs: number; intervalMs?: number }): Promise<ClusterHealth> {
  const deadline = Date.now() + options.timeoutMs;
  let last: ClusterHealth | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await clusterHealth(client, connect);
      if (last.problems.length === 0) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() + (options.intervalMs ?? 500) > deadline) break;
    await sleep(options.intervalMs ?? 500);
  }
  const why = last ? last.problems.join('; ') : String(lastError);
  throw new EtcdError(`the etcd cluster is not healthy after ${Math.round(options.timeoutMs / 1000)}s: ${why}`, why, undefined, {
    cause: lastError,
    hint: "read the etcd members' logs; `etcdctl endpoint status --cluster` shows each member",
  });
}
