/**
 * reset's remove-etcd-member (kubeadm's phase of that name): on a node with a stacked etcd, its
 * member leaves the cluster before the node is cleaned, so the other members do not keep waiting for
 * a voter that will never return. The quorum check runs in prepare — before the confirmation and
 * before anything is changed — and refuses when the healthy members left would not be a quorum of
 * the members now, unless --force. The last member is not removed (there is no cluster left to tell).
 */
import path from 'node:path';
import { parse } from 'yaml';
import { MANIFESTS_DIR } from '../../constants.js';
import { etcdClient, hexId, type EtcdClient, type EtcdMember, type EtcdTls } from '../../etcd/client.js';
import { describeMembers, removalVerdict, removeMember } from '../../etcd/members.js';
import { readEtcdTls } from '../../etcd/tls.js';
import { ConfigError, messageOf } from '../../errors.js';
import type { Phase } from '../runner.js';
import { ScratchSlot } from '../scratch.js';
import type { ResetData } from './data.js';

interface Plan {
  tls: EtcdTls;
  endpoint: string;
  /**
   * Where the removal is asked: another healthy member. A member told to remove itself stops before
   * it answers ("etcdserver: server stopped"), so the answer would be an error or never come.
   */
  removeVia?: string;
  self?: EtcdMember;
  skip?: string;
}

const plans = new ScratchSlot<Plan>();
const MANIFEST = path.posix.join(MANIFESTS_DIR, 'etcd.yaml');

/** `--name=value` of the etcd manifest's command. */
function flag(command: readonly string[], name: string): string | undefined {
  return command.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function healthyVoters(members: readonly EtcdMember[], tls: EtcdTls): Promise<Set<string>> {
  const up = new Set<string>();
  await Promise.all(
    members
      .filter((m) => !m.isLearner && m.clientURLs[0])
      .map(async (m) => {
        const c: EtcdClient = etcdClient(m.clientURLs[0]!, tls, { timeoutMs: 3000 });
        try {
          if ((await c.status()).leader !== '0') up.add(m.ID);
        } catch {
          // down or cut off: not counted
        } finally {
          c.close();
        }
      }),
  );
  return up;
}

async function plan(ctx: ResetData): Promise<Plan | undefined> {
  const text = await ctx.host.readOptional(MANIFEST);
  if (text === undefined) return undefined;
  const pod = parse(text.toString()) as { spec?: { containers?: { command?: string[] }[] } };
  const command = pod.spec?.containers?.[0]?.command ?? [];
  const endpoint = flag(command, 'advertise-client-urls')?.split(',')[0];
  const peer = flag(command, 'initial-advertise-peer-urls')?.split(',')[0];
  if (!endpoint || !peer) return undefined;
  const tls = await readEtcdTls(ctx.host, ctx.certificatesDir);
  const client = etcdClient(endpoint, tls, { timeoutMs: 5000 });
  try {
    let members: EtcdMember[];
    try {
      members = await client.memberList();
    } catch (err) {
      return { tls, endpoint, skip: `cannot reach etcd at ${endpoint} (${messageOf(err)}): remove this member by hand with \`etcdctl member remove\`` };
    }
    const self = members.find((m) => m.peerURLs.includes(peer));
    if (!self) return { tls, endpoint, skip: `${peer} is not an etcd member (already removed)` };
    const healthy = await healthyVoters(members, tls);
    const verdict = removalVerdict(members, healthy, self.ID);
    const removeVia = members.find((m) => m.ID !== self.ID && healthy.has(m.ID) && m.clientURLs[0])?.clientURLs[0];
    if (verdict.last) return { tls, endpoint, self, skip: `${self.name} is the last etcd member: ${verdict.reason}` };
    if (!verdict.safe && !ctx.force) {
      throw new ConfigError(
        `removing etcd member ${self.name} (${hexId(self.ID)}) would lose quorum: ${verdict.reason}; members: ${describeMembers(members)}`,
        {
          hint: 'bring the other control-plane nodes back first, or pass --force to remove it anyway',
        },
      );
    }
    if (!verdict.safe) ctx.out.warn('reset', `removing etcd member ${self.name} although ${verdict.reason} (--force)`);
    return { tls, endpoint, self, removeVia };
  } finally {
    client.close();
  }
}

export const removeEtcdMemberPhase: Phase<ResetData> = {
  name: 'remove-etcd-member',
  help: 'Remove a local etcd member',
  prepare: async (ctx, self) => {
    const p = await plan(ctx);
    if (p) plans.set(ctx, self.path, p);
  },
  run: async (ctx, self) => {
    const p = plans.get(ctx, self.path);
    if (!p) {
      ctx.out.line('reset', 'No etcd manifest found; assuming external etcd or a worker node');
      return;
    }
    if (p.skip || !p.self) {
      ctx.out.line('reset', `Not removing the etcd member: ${p.skip}`);
      return;
    }
    const client = etcdClient(p.removeVia ?? p.endpoint, p.tls);
    try {
      const left = await removeMember(client, p.self.ID);
      ctx.out.line('reset', `Removed etcd member ${p.self.name} (${hexId(p.self.ID)}); members left: ${describeMembers(left)}`);
    } finally {
      client.close();
    }
  },
};
