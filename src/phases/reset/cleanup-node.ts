/**
 * `kubestrap reset` as phases, like kubeadm's: preflight (confirmation) → cleanup-node (stop the
 * agent and every pod it ran, remove what init wrote). Each step tolerates what is already gone, so
 * reset can be run again after a partial one.
 */
import { readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { execa } from 'execa';
import { AGENT_PATHS, AGENT_UNIT_NAME, runningAgentPid, stopNodePods, stopProcess } from '../../agent/index.js';
import { AGENT_STATE_DIR, DEFAULT_ETCD_DATA_DIR, KUBERNETES_DIR, MANIFESTS_DIR } from '../../config/defaults.js';
import { ConfigError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import type { Printer } from '../../output.js';
import type { Phase } from '../runner.js';

export interface ResetContext {
  host: Host;
  out: Printer;
  force: boolean;
  certificatesDir: string;
  /** Where to ask for confirmation (tests pass a stream). */
  input: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The kubeconfig files init writes (kubeadm's list, plus none of ours). */
const KUBECONFIGS = ['admin.conf', 'super-admin.conf', 'kubelet.conf', 'bootstrap-kubelet.conf', 'controller-manager.conf', 'scheduler.conf'];

async function confirm(ctx: ResetContext): Promise<void> {
  if (ctx.force) return;
  if (!ctx.input.isTTY) {
    throw new ConfigError('reset needs a confirmation and there is no terminal to ask', { hint: 'pass --force to reset without asking' });
  }
  ctx.out.text(`[reset] WARNING: Changes made to this host by 'kubestrap init' will be reverted.`);
  const rl = createInterface({ input: ctx.input, output: process.stdout });
  const answer = await rl.question('[reset] Are you sure you want to proceed? [y/N]: ');
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new ConfigError('aborted: nothing was changed');
}

async function stopAgent(ctx: ResetContext): Promise<void> {
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
async function stopPods(ctx: ResetContext): Promise<void> {
  await stopNodePods(ctx.host, {
    unreachable: (runtime, err) => ctx.out.warn('reset', `cannot reach the ${runtime} runtime, its containers are left alone: ${messageOf(err)}`),
    stopping: (runtime, n) => ctx.out.line('reset', `Stopping ${n} containers of the static pods (${runtime} runtime)`),
  });
}

/** Mounts still under the rootfs (a crashed runtime can leave some); deepest first. */
async function mountsUnder(root: string): Promise<string[]> {
  if (root === '/') return [];
  const info = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

async function removeFiles(ctx: ResetContext): Promise<void> {
  for (const m of await mountsUnder(ctx.host.rootfs)) {
    ctx.out.line('reset', `Unmounting ${m}`);
    await execa('umount', ['-l', m], { reject: false });
  }
  const targets = [
    MANIFESTS_DIR,
    ctx.certificatesDir,
    ...KUBECONFIGS.map((f) => `${KUBERNETES_DIR}/${f}`),
    `${KUBERNETES_DIR}/tmp`,
    DEFAULT_ETCD_DATA_DIR,
    AGENT_STATE_DIR,
    '/var/lib/kubestrap',
    '/var/log/pods',
    AGENT_PATHS.pid,
    AGENT_PATHS.unit,
  ];
  ctx.out.line('reset', `Deleting contents of directories: [${[MANIFESTS_DIR, DEFAULT_ETCD_DATA_DIR, '/var/lib/kubestrap', ctx.certificatesDir].join(' ')}]`);
  ctx.out.line('reset', `Deleting files: [${KUBECONFIGS.map((f) => `${KUBERNETES_DIR}/${f}`).join(' ')}]`);
  for (const t of targets) await rm(ctx.host.path(t), { recursive: true, force: true });
}

export const RESET_PHASES: readonly Phase<ResetContext>[] = [
  { name: 'preflight', help: 'Run reset pre-flight checks (asks for confirmation unless --force)', run: confirm },
  {
    name: 'cleanup-node',
    help: 'Stop the agent and its pods, and remove what init wrote',
    run: async (ctx) => {
      await stopAgent(ctx);
      await stopPods(ctx);
      await removeFiles(ctx);
      ctx.out.text(
        '\nThe reset process does not clean CNI configuration, iptables rules or $HOME/.kube/config files; remove them by hand if you made any.',
      );
    },
  },
];

