/**
 * `join phase etcd-join` (kubeadm 1.37's, after kubelet-start so the agent picks the manifest up at
 * once): this node's etcd joins the stacked cluster through etcd's API. It is added as a raft
 * learner (it cannot vote, so a slow or cut-off member costs no quorum), its manifest lists every
 * member with --initial-cluster-state=existing, the learner is promoted once the leader says it is
 * in sync (a progress line per refusal), and the cluster must then be healthy. A learner that never
 * catches up is removed again, so the cluster is as before and the join can simply be retried.
 */
import { formatDuration } from '../../config/duration.js';
import { hexId, type EtcdMember } from '../../etcd/client.js';
import { addLearner, describeMembers, promoteWhenCaughtUp, removeMember, waitClusterHealthy } from '../../etcd/members.js';
import { HostError, KubestrapError, messageOf } from '../../errors.js';
import { etcdPeerURL, renderManifests, writeManifest, type EtcdPeer } from '../../manifests/index.js';
import type { Phase } from '../runner.js';
import type { ControlPlaneJoinData } from './data.js';

const PREFIX = 'etcd';

/** --initial-cluster: every member that has a name, and the new one under this node's name (kubeadm's). */
export function initialCluster(members: readonly EtcdMember[], self: EtcdMember, nodeName: string): EtcdPeer[] {
  return members.flatMap((m) => {
    const name = m.ID === self.ID ? nodeName : m.name;
    return name && m.peerURLs[0] ? [{ name, peerURL: m.peerURLs[0] }] : [];
  });
}

async function run(cp: ControlPlaneJoinData): Promise<void> {
  const { config, host, out } = cp;
  const local = config.cluster.etcd.local!;
  if (cp.dryRun) {
    out.line('control-plane-join', `Would ensure that "${local.dataDir}" directory is present`);
    out.line('dryrun', 'Would add this node as an etcd learner, write its etcd manifest and promote it');
    return;
  }
  await host.mkdir(local.dataDir, 0o700);
  const peerURL = etcdPeerURL(config);
  const { client, connect, endpoints } = await cp.clusterEtcd();
  try {
    out.line(PREFIX, `Adding ${config.nodeName} (${peerURL}) as a learner to the etcd cluster at ${endpoints.join(',')}`);
    const { member, members } = await addLearner(client, peerURL, { timeoutMs: config.timeoutsMs.etcdAPICall });
    const peers = initialCluster(members, member, config.nodeName);
    const manifest = (await renderManifests(config, host, ['etcd'], { etcdInitialCluster: peers })).get('etcd')!;
    out.line(PREFIX, `Creating static Pod manifest for "etcd" (--initial-cluster=${peers.map((p) => `${p.name}=${p.peerURL}`).join(',')})`);
    await writeManifest(host, config, manifest);
    const t0 = Date.now();
    out.line(PREFIX, `Waiting for the new etcd member to catch up with the leader. This can take up to ${formatDuration(config.timeoutsMs.etcdAPICall)}`);
    if (member.isLearner) {
      try {
        await promoteWhenCaughtUp(client, connect, member.ID, { timeoutMs: config.timeoutsMs.etcdAPICall, progress: (l) => out.text(l) });
      } catch (err) {
        throw await withLearnerRemoved(cp, err, member);
      }
      out.line(PREFIX, `Promoted member ${hexId(member.ID)} to a voting member after ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
    const health = await waitClusterHealthy(client, connect, { timeoutMs: config.timeoutsMs.etcdAPICall });
    out.line(PREFIX, `The etcd cluster is healthy: ${describeMembers(health.members)}`);
  } finally {
    client.close();
  }
}

/** Removes the learner this run added (a learner that cannot catch up only blocks the next join); the error says what happened. */
async function withLearnerRemoved(cp: ControlPlaneJoinData, err: unknown, member: EtcdMember): Promise<unknown> {
  if (!(err instanceof KubestrapError)) return err;
  const { client } = await cp.clusterEtcd().catch(() => ({ client: undefined }));
  let what: string;
  try {
    await (client ? removeMember(client, member.ID, { timeoutMs: 10_000 }) : Promise.reject(new Error('no etcd member answers')));
    what = `the learner ${hexId(member.ID)} was removed again`;
  } catch (removeErr) {
    what = `removing the learner ${hexId(member.ID)} failed too (${messageOf(removeErr)}): remove it with \`etcdctl member remove ${hexId(member.ID)}\``;
  } finally {
    client?.close();
  }
  return new HostError(`${err.message}; ${what}`, {
    cause: err,
    field: 'timeouts.etcdAPICall',
    hint: `check that the members reach this node's etcd peer port (${new URL(etcdPeerURL(cp.config)).port}) and read its etcd log; \`kubestrap reset\` this node, then join again`,
  });
}

export const etcdJoinPhase: Phase<ControlPlaneJoinData> = {
  name: 'etcd-join',
  help: 'Join etcd for control plane nodes',
  description:
    "Adds this node's etcd as a learner through etcd's API, writes its static Pod manifest with every member in --initial-cluster and --initial-cluster-state=existing, promotes it once in sync with the leader (timeouts.etcdAPICall), and waits for the cluster to be healthy.",
  when: (cp) => cp.config.cluster.etcd.local !== undefined,
  skipped: (cp) => cp.out.line('control-plane-join', 'Using external etcd - no local stacked instance added'),
  run,
};
