/**
 * The phases of `kubestrap join`, in kubeadm 1.37's order (cmd/kubeadm/app/cmd/join.go). A worker
 * runs preflight → kubelet-start → kubelet-wait-bootstrap; a control-plane join (--control-plane)
 * also runs control-plane-prepare, check-etcd, etcd-join, control-plane-join and
 * wait-control-plane, made of init's phases through ControlPlaneJoinData (data.ts) and `onControlPlane`.
 * Its kubelet-start is init's agent phase: a control-plane node runs the kubestrap agent, with the
 * kubelet.conf the kubeconfig phase signed (the node holds the cluster CA's key, as init's does).
 */
import { agentPhase } from '../init/agent.js';
import { certsPhase } from '../init/certs.js';
import { controlPlanePhase } from '../init/control-plane.js';
import { kubeconfigPhase } from '../init/kubeconfig.js';
import { markControlPlanePhase } from '../init/mark-control-plane.js';
import { waitControlPlanePhase } from '../init/wait-control-plane.js';
import { requireSharedCerts } from '../copycerts.js';
import type { Phase, PhaseRun } from '../runner.js';
import { checkEtcdPhase } from './check-etcd.js';
import type { ControlPlaneJoinData, JoinData } from './data.js';
import { downloadCertsPhase } from './download-certs.js';
import { etcdJoinPhase } from './etcd-join.js';
import { kubeletStartPhase } from './kubelet-start.js';
import { joinPreflightPhase } from './preflight.js';
import { kubeletWaitBootstrapPhase } from './wait-bootstrap.js';

type Applies = (ctx: ControlPlaneJoinData) => boolean;

export interface LiftOptions {
  /** Runs before each step of the subtree (e.g. refuse to generate a CA a join must share). */
  guard?: (ctx: ControlPlaneJoinData, self: PhaseRun) => Promise<void>;
}

/**
 * `phase` as a join phase: it applies with --control-plane only; its `when` (and its ancestors')
 * is asked of the control-plane data at run time, since that data is read from the cluster once the
 * join has discovered it. Its `prepare` moves into its `run`: a join's prepare stage comes before
 * download-certs has written the CAs the certificates are signed with.
 */
export function onControlPlane(phase: Phase<ControlPlaneJoinData>, options: LiftOptions = {}, inherited: readonly Applies[] = []): Phase<JoinData> {
  const chain = phase.when ? [...inherited, phase.when] : inherited;
  return {
    name: phase.name,
    help: phase.help,
    description: phase.description,
    hidden: phase.hidden,
    parallelChildren: phase.parallelChildren,
    when: (ctx) => ctx.controlPlaneJoin,
    run: async (ctx, self) => {
      const cp = await ctx.controlPlane();
      if (!chain.every((applies) => applies(cp))) {
        if (phase.when?.(cp) === false) await phase.skipped?.(cp, self);
        return;
      }
      await options.guard?.(cp, self);
      await phase.prepare?.(cp, self);
      await phase.run?.(cp, self);
    },
    phases: phase.phases?.map((child) => onControlPlane(child, options, chain)),
  };
}

/** A phase that is the worker's for a worker join and `controlPlane`'s for a control-plane join (one name, as kubeadm's). */
export function workerOrControlPlane(worker: Phase<JoinData>, controlPlane: Phase<ControlPlaneJoinData>): Phase<JoinData> {
  const lifted = onControlPlane(controlPlane);
  return {
    ...worker,
    description: worker.description,
    when: undefined,
    run: (ctx, self) => (ctx.controlPlaneJoin ? lifted.run!(ctx, self) : worker.run?.(ctx, self)),
  };
}

/** kubeadm's CreateJoinControlPlaneKubeConfigFiles: no super-admin.conf on a joined control plane. */
const JOIN_KUBECONFIG_FILES = new Set(['admin', 'kubelet', 'controller-manager', 'scheduler']);

const controlPlanePreparePhase: Phase<JoinData> = {
  name: 'control-plane-prepare',
  help: 'Prepare the machine for serving a control plane',
  when: (ctx) => ctx.controlPlaneJoin,
  phases: [
    onControlPlane(downloadCertsPhase),
    // a join signs with the cluster's CAs only: one that is missing is named, never generated
    onControlPlane(certsPhase, { guard: (cp) => requireSharedCerts(cp.host, cp.sharedCertsPlace()) }),
    onControlPlane({ ...kubeconfigPhase, phases: kubeconfigPhase.phases!.filter((p) => JOIN_KUBECONFIG_FILES.has(p.name)) }),
    onControlPlane(controlPlanePhase),
  ],
};

const controlPlaneJoinPhase: Phase<JoinData> = {
  name: 'control-plane-join',
  help: 'Join a machine as a control plane instance',
  when: (ctx) => ctx.controlPlaneJoin,
  phases: [onControlPlane(markControlPlanePhase)],
};

export const JOIN_PHASES: readonly Phase<JoinData>[] = [
  joinPreflightPhase,
  controlPlanePreparePhase,
  onControlPlane(checkEtcdPhase),
  workerOrControlPlane(kubeletStartPhase, agentPhase),
  onControlPlane(etcdJoinPhase),
  // a control-plane node's agent has its kubelet.conf already: nothing to bootstrap
  { ...kubeletWaitBootstrapPhase, when: (ctx) => !ctx.controlPlaneJoin },
  controlPlaneJoinPhase,
  onControlPlane(waitControlPlanePhase),
];
