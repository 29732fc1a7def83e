/**
 * reset's cleanup-node: stop the agent and every pod it ran, remove what init wrote. Each step
 * tolerates what is already gone, so reset can be run again after a partial one.
 */
import { execa } from 'execa';
import { hostname } from 'node:os';
import { AGENT_PATHS, AGENT_UNIT_NAME, runningAgentPid, stopNodePods, stopProcess } from '../../agent/index.js';
import { DEFAULT_ETCD_DATA_DIR } from '../../config/defaults.js';
import { AGENT_STATE_DIR, KUBECONFIG_FILES, KUBERNETES_DIR, KUBESTRAP_STATE_DIR, MANIFESTS_DIR, POD_LOGS_DIR } from '../../constants.js';
import { messageOf } from '../../errors.js';
import { readMountPoints } from '../../host/mountinfo.js';
import { realSystemctl } from '../node-service.js';
import type { Phase } from '../runner.js';
import { joinedCriEndpoint, joinedNodeName, KUBELET_WRITTEN, kubeletMounts, removeKubeletPods, resetNotes, stopKubelet } from '../worker-cleanup.js';
import type { ResetData } from './data.js';

async function stopAgent(ctx: ResetData): Promise<void> {
  if (ctx.host.rootfs === '/' && (await ctx.host.exists(AGENT_PATHS.unit))) {
    ctx.out.line('reset', `Stopping the ${AGENT_UNIT_NAME} systemd unit`);
    await execa('systemctl', ['disable', '--now', AGENT_UNIT_NAME], { reject: false });
  }
  const pid = await runningAgentPid(ctx.host);
  if (pid !== undefined) {
    ctx.out.line('reset', `Stopping the kubestrap agent (pid ${pid})`);
    await stopProcess(pid);
  }
}

/** Stops every container/process the agent ran for this node: an adoption that wants nothing. */
async function stopPods(ctx: ResetData): Promise<void> {
  await stopNodePods(ctx.host, {
    unreachable: (runtime, err) => ctx.out.warn('reset', `cannot reach the ${runtime} runtime, its containers are left alone: ${messageOf(err)}`),
    stopping: (runtime, n) => ctx.out.line('reset', `Stopping ${n} containers of the static pods (${runtime} runtime)`),
  });
}

/**
 * Mounts still under the rootfs (a crashed runtime can leave some), deepest first. The directories
 * whose contents reset deletes stay mounted when they are mount points themselves: a data disk at
 * /var/lib/etcd is the host's, as with kubeadm.
 */
async function mountsUnder(root: string, keep: ReadonlySet<string>): Promise<string[]> {
  if (root === '/') return [];
  return (await readMountPoints().catch(() => [] as string[])).filter((m) => m.startsWith(`${root}/`) && !keep.has(m)).sort((a, b) => b.length - a.length);
}

async function removeFiles(ctx: ResetData): Promise<void> {
  const dirs = [MANIFESTS_DIR, DEFAULT_ETCD_DATA_DIR, KUBESTRAP_STATE_DIR, ctx.certificatesDir];
  const kubeletLeft = ctx.host.rootfs === '/' ? await kubeletMounts(ctx.host) : [];
  for (const m of [...kubeletLeft, ...(await mountsUnder(ctx.host.rootfs, new Set(dirs.map((d) => ctx.host.path(d)))))]) {
    ctx.out.line('reset', `Unmounting ${m}`);
    await execa('umount', ['-l', m], { reject: false });
  }
  const kubeconfigs = Object.values(KUBECONFIG_FILES).map((f) => `${KUBERNETES_DIR}/${f}`);
  ctx.out.line('reset', `Deleting contents of directories: [${dirs.join(' ')}]`);
  ctx.out.line('reset', `Deleting files: [${kubeconfigs.join(' ')}]`);
  // a directory that is a mount point is emptied and kept (Host.remove): rmdir on it is EBUSY
  for (const t of [...dirs, ...kubeconfigs, `${KUBERNETES_DIR}/tmp`, AGENT_STATE_DIR, POD_LOGS_DIR, AGENT_PATHS.pid, AGENT_PATHS.unit, ...KUBELET_WRITTEN]) {
    await ctx.host.remove(t);
  }
}

export const cleanupNodePhase: Phase<ResetData> = {
  name: 'cleanup-node',
  help: 'Stop the agent or kubelet and their pods, and remove what init or join wrote',
  run: async (ctx) => {
    // read before removeFiles deletes them: where the joined kubelet's pods run, and its node name
    const [criEndpoint, nodeName] = await Promise.all([joinedCriEndpoint(ctx.host), joinedNodeName(ctx.host)]);
    await stopKubelet(ctx.host, ctx.out, ctx.systemctl ?? realSystemctl);
    await stopAgent(ctx);
    await stopPods(ctx);
    if (criEndpoint) await removeKubeletPods(criEndpoint, ctx.out);
    await removeFiles(ctx);
    ctx.out.text(resetNotes(nodeName ?? (criEndpoint ? hostname().toLowerCase() : undefined)));
  },
};
