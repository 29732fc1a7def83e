/**
 * `join phase kubelet-wait-bootstrap`: wait for the TLS bootstrap (kubelet.conf written by the
 * kubelet once its CSR was approved and signed) and for its Node to register, with a progress line.
 * kubelet.conf is watched (fs.watch, with a back-off re-check in case an event is missed), the Node
 * read with a back-off from 50 ms: no fixed poll interval. On timeout the service's last log lines
 * are printed. bootstrap-kubelet.conf is removed afterwards, as kubeadm does.
 */
import { watch } from 'node:fs';
import { formatDuration } from '../../config/duration.js';
import { KUBELET_KUBECONFIG, KUBELET_PATHS } from '../../constants.js';
import { HostError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { loadKubeconfig, type LoadedKubeconfig } from '../../kubeconfig/load.js';
import { nodeExists } from '../../kube/join-cluster.js';

import { KUBELET_SERVICE, livePid, serviceLogTail, type NodeService } from '../node-service.js';
import type { Phase } from '../runner.js';
import { agentJoinService } from '../agent-node.js';
import type { JoinData } from './data.js';
import { kubeletService } from '../kubelet-files.js';

const FIRST_CHECK_MS = 50;
const MAX_CHECK_MS = 1000;

/** Resolves with `check()`'s value once defined: on a change in `dir`, else after a growing pause. */
async function until<T>(host: Host, dir: string, deadline: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  let wake: (() => void) | undefined;
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(host.path(dir), () => wake?.());
  } catch {
    // no directory to watch: the back-off alone
  }
  try {
    let pause = FIRST_CHECK_MS;
    for (;;) {
      const got = await check();
      if (got !== undefined) return got;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(pause, left));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      pause = Math.min(pause * 2, MAX_CHECK_MS);
    }
  } finally {
    watcher?.close();
  }
}

async function kubeletConf(host: Host): Promise<LoadedKubeconfig | undefined> {
  try {
    const kc = await loadKubeconfig(host, KUBELET_KUBECONFIG);
    return kc?.clientCertPem || kc?.token ? kc : undefined;
  } catch {
    return undefined; // written but its certificate not yet: look again
  }
}

const serviceOf = (ctx: JoinData): NodeService => (ctx.config.agent ? agentJoinService(ctx.config, ctx.host) : kubeletService('kubelet', ctx.host, []));

async function timedOut(ctx: JoinData, what: string): Promise<never> {
  const svc = serviceOf(ctx);
  const log = await serviceLogTail(ctx.host, svc, await ctx.systemd());
  if (log) ctx.out.text(`[kubelet-start] The last lines of the ${svc.label}'s log (${ctx.host.path(svc.logFile)}):\n${log.replace(/^/gm, '\t')}`);
  throw new HostError(what, {
    field: 'timeouts.tlsBootstrap',
    hint: `see the ${svc.label}'s log${ctx.config.agent ? '' : ` (${ctx.host.path(KUBELET_SERVICE.log)}, or journalctl -u kubelet)`}; is the controller-manager approving CSRs?`,
  });
}

async function run(ctx: JoinData): Promise<void> {
  const { host, out, config } = ctx;
  if (ctx.dryRun) return out.line('kubelet-wait', 'Would wait for the kubelet to be bootstrapped');
  const start = Date.now();
  const deadline = start + config.timeoutsMs.tlsBootstrap;
  const since = (): string => `${((Date.now() - start) / 1000).toFixed(1)} s`;
  out.line('kubelet-start', `Waiting for the ${config.agent ? 'kubestrap agent' : 'kubelet'} to perform the TLS Bootstrap (${host.path(KUBELET_KUBECONFIG)})`);
  // a supervisor that is gone will not bring the service back: no use waiting for the timeout
  const supervised = !(await ctx.systemd()) ? serviceOf(ctx).pidFile : undefined;
  let died = false;
  const kc = await until(host, '/etc/kubernetes', deadline, async () => {
    const got = await kubeletConf(host);
    if (!got && supervised && (await livePid(host, supervised)) === undefined) died = true;
    return died ? null : got;
  });
  if (died) return timedOut(ctx, `the supervised ${serviceOf(ctx).label} exited before its TLS bootstrap`);
  if (!kc)
    return timedOut(ctx, `the TLS bootstrap did not finish (no ${host.path(KUBELET_KUBECONFIG)}) within ${formatDuration(config.timeoutsMs.tlsBootstrap)}`);
  out.line('kubelet-start', `TLS bootstrap done after ${since()}; waiting for Node "${config.nodeName}" to register`);
  let lastError = '';
  const registered = await until(host, '/etc/kubernetes', deadline, async () => {
    try {
      return (await nodeExists(kc, config.nodeName, 5000)) || undefined;
    } catch (err) {
      lastError = messageOf(err);
      return undefined;
    }
  });
  if (!registered) {
    return timedOut(
      ctx,
      `Node "${config.nodeName}" did not register within ${formatDuration(config.timeoutsMs.tlsBootstrap)}${lastError ? ` (last error: ${lastError})` : ''}`,
    );
  }
  out.line('kubelet-start', `Node "${config.nodeName}" registered after ${since()}`);
  await host.remove(KUBELET_PATHS.bootstrapKubeconfig);
  out.text(
    [
      '',
      'This node has joined the cluster:',
      '* Certificate signing request was sent to apiserver and a response was received.',
      '* The Kubelet was informed of the new secure connection details.',
      '',
      "Run 'kubectl get nodes' on the control-plane to see this node join the cluster.",
      '',
    ].join('\n'),
  );
}

export const kubeletWaitBootstrapPhase: Phase<JoinData> = {
  name: 'kubelet-wait-bootstrap',
  help: 'Wait for the kubelet to bootstrap itself',
  run,
};
