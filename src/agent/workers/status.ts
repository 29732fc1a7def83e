/**
 * Pod phase and V1PodStatus from the workers' container records, following the kubelet's getPhase
 * and condition rules (a container waiting after a termination counts as stopped, not waiting).
 */
import type { V1ContainerState, V1ContainerStateTerminated, V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export interface Terminated {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt?: Date;
  finishedAt: Date;
  containerID?: string;
}

export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  init: boolean;
  state: { running: { startedAt: Date } } | { waiting: { reason: string; message?: string } } | { terminated: Terminated };
  last?: Terminated;
  ready: boolean;
  started: boolean;
  restartCount: number;
}

export type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

function terminated(t: Terminated): V1ContainerStateTerminated {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    message: t.message,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    containerID: t.containerID,
  };
}

function containerStatus(c: ContainerView): V1ContainerStatus {
  let state: V1ContainerState;
  if ('running' in c.state) state = { running: { startedAt: c.state.running.startedAt } };
  else if ('waiting' in c.state) state = { waiting: { ...c.state.waiting } };
  else state = { terminated: terminated(c.state.terminated) };
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageID,
    containerID: c.containerID,
    state,
    lastState: c.last ? { terminated: terminated(c.last) } : {},
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
  };
}

export function podPhase(init: ContainerView[], app: ContainerView[], initialized: boolean, restartPolicy: string): Phase {
  if (!initialized) {
    const failed = init.some((c) => 'terminated' in c.state && c.state.terminated.exitCode !== 0);
    return failed && restartPolicy === 'Never' ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of app) {
    if ('running' in c.state) running++;
    else if ('terminated' in c.state) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.last) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Keeps lastTransitionTime stable while a condition's status does not change. */
export class Conditions {
  private readonly since = new Map<string, { status: string; at: Date }>();

  build(values: Record<string, boolean>, now: Date): V1PodCondition[] {
    return Object.entries(values).map(([type, ok]) => {
      const status = ok ? 'True' : 'False';
      const prev = this.since.get(type);
      const at = prev && prev.status === status ? prev.at : now;
      this.since.set(type, { status, at });
      return { type, status, lastTransitionTime: at };
    });
  }
}

export interface StatusInput {
  init: ContainerView[];
  app: ContainerView[];
  initialized: boolean;
  restartPolicy: string;
  startTime: Date;
  nodeIP: string;
  conditions: Conditions;
  now: Date;
  /** Set once the pod has been stopped for good (removed or finished). */
  message?: string;
}

export function podStatus(input: StatusInput): V1PodStatus {
  const phase = podPhase(input.init, input.app, input.initialized, input.restartPolicy);
  const containersReady = input.initialized && input.app.every((c) => c.ready);
  return {
    phase,
    conditions: input.conditions.build(
      { PodReadyToStartContainers: true, Initialized: input.initialized, Ready: containersReady, ContainersReady: containersReady, PodScheduled: true },
      input.now,
    ),
    message: input.message,
    hostIP: input.nodeIP,
    hostIPs: [{ ip: input.nodeIP }],
    podIP: input.nodeIP,
    podIPs: [{ ip: input.nodeIP }],
    startTime: input.startTime,
    initContainerStatuses: input.init.length ? input.init.map(containerStatus) : undefined,
    containerStatuses: input.app.map(containerStatus),
  };
}
