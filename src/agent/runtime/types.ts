/**
 * The agent's runtime interface: what a pod worker needs from "something that runs containers".
 * Shaped like the CRI (sandbox + containers) so the cri runtime is a thin mapping and the process
 * runtime fakes only what it must (its "sandbox" is the pod's mount/log setup).
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export type RuntimeName = 'process' | 'cri';

/** A pod as the runtime sees it: the agent's resolved static pod (identity already applied). */
export interface RuntimePod {
  /** Deterministic UID (= config hash) from the agent. */
  uid: string;
  /** Full pod name, `<manifest name>-<node>`. */
  name: string;
  namespace: string;
  /** The resolved pod, defaults applied. */
  pod: V1Pod;
}

export interface SandboxRef {
  /** Runtime id of the sandbox (CRI pod sandbox id; for processes, the pod uid). */
  id: string;
}

export interface ContainerRef {
  /** Runtime id (CRI container id; for processes, `<pid>:<start time>`). */
  id: string;
  /** Container name within the pod. */
  name: string;
  /** Restart count this container was started for (CRI "attempt"). */
  attempt: number;
  /** What the image resolved to, for containerStatuses[].imageID (CRI image_ref; process: binary path). */
  imageRef?: string;
}

export interface ContainerStart {
  container: V1Container;
  attempt: number;
  /** Host path (real, rootfs included) of the CRI-format log file for this attempt. */
  logPath: string;
  /** True for an init container (labels/annotations differ only in name). */
  init?: boolean;
}

export type ContainerRunState =
  | { state: 'running'; startedAt: Date }
  | { state: 'exited'; startedAt?: Date; finishedAt: Date; exitCode: number; reason: string; message?: string }
  | { state: 'unknown'; reason: string };

/** What an adopting agent finds still running after a restart. */
export interface ManagedContainer {
  ref: ContainerRef;
  podUid: string;
  podName: string;
  namespace: string;
  sandboxId: string;
  running: boolean;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** Why a runtime cannot run a pod at all (not a start failure: no retry would help). */
export interface PodRefusal {
  field: string;
  message: string;
  hint?: string;
}

export interface Runtime {
  readonly name: RuntimeName;
  /**
   * A pod this runtime can never run (process runtime: one without hostNetwork). Asked when a
   * manifest is read, so the file is refused once with this reason instead of failing in a loop.
   */
  refuses?(pod: V1Pod): PodRefusal | undefined;
  /** Checks the runtime can be used (socket answers, binaries present); throws HostError with what to do. */
  init(): Promise<void>;
  /** What init() found that does not stop the runtime but an operator should fix (an out-of-support containerd). */
  warnings?(): readonly string[];
  /**
   * Makes sure the container's image is present, honouring imagePullPolicy; throws
   * ContainerStartError (ErrImageNeverPull, ErrImagePull, ...) naming what is missing. Process
   * runtime: the binary the image and command[0] resolve to. `field` is the container's place in
   * the pod (`spec.containers[etcd]`), for the error.
   */
  ensureImage(container: V1Container, field: string): Promise<void>;
  /** Creates the pod-level environment (CRI sandbox; process: nothing to start). */
  runPodSandbox(pod: RuntimePod): Promise<SandboxRef>;
  stopPodSandbox(pod: RuntimePod, sandbox: SandboxRef): Promise<void>;
  removePodSandbox(pod: RuntimePod, sandbox: SandboxRef): Promise<void>;
  /** Creates and starts one container; resolves when it is running. */
  startContainer(pod: RuntimePod, sandbox: SandboxRef, start: ContainerStart): Promise<ContainerRef>;
  /** SIGTERM, then SIGKILL after graceSeconds; resolves when the container has exited. */
  stopContainer(ref: ContainerRef, graceSeconds: number): Promise<void>;
  removeContainer(ref: ContainerRef): Promise<void>;
  status(ref: ContainerRef): Promise<ContainerRunState>;
  /** Resolves when the container exits (or is already gone), with its final state. */
  waitExit(ref: ContainerRef, signal?: AbortSignal): Promise<ContainerRunState>;
  /** Runs a command inside the container (exec probes). */
  exec(ref: ContainerRef, command: string[], timeoutMs: number): Promise<ExecResult>;
  /** Everything this agent started that the runtime still knows, for adoption after a restart. */
  listManaged(): Promise<ManagedContainer[]>;
  /** Releases connections; does not stop containers. */
  close(): Promise<void>;
}
