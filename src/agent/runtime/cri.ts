/**
 * The `cri` runtime: static pods as CRI pod sandboxes and containers in containerd (or any CRI
 * runtime), over gRPC on the runtime's unix socket. The mapping follows the kubelet's kuberuntime so
 * the node looks the same to crictl/ctr users; everything the agent creates carries an ownership
 * label so a restarted agent finds (and only finds) its own containers.
 */
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import type { V1Container } from '@kubernetes/client-node';
import path from 'node:path';
import { criClient, criTime, type ContainerStatus, type CriClient, type PodSandboxConfig, type Input } from '../../cri/client.js';
import { containerdSupportWarning } from '../../cri/runtime-version.js';
import { ContainerStartError, HostError, messageOf } from '../../errors.js';
import { defaultPullPolicy } from '../../pod/defaults.js';
import type { Host } from '../../host/host.js';
import {
  containerConfig,
  OWNER_LABEL,
  CONTAINER_NAME_LABEL,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_UID_LABEL,
  podLogDirectory,
  sandboxConfig,
} from './cri/config.js';
import { ExitWatcher } from './cri/exit-watch.js';
import { containerMounts } from './cri/volumes.js';
import type { ContainerRef, ContainerRunState, ContainerStart, ExecResult, ManagedContainer, Runtime, RuntimePod, SandboxRef } from './types.js';

export const DEFAULT_CRI_ENDPOINT = 'unix:///var/run/containerd/containerd.sock';

export interface CriRuntimeOptions {
  host: Host;
  nodeName: string;
  /** `--container-runtime-endpoint`; a real socket path, never rootfs-prefixed. */
  endpoint?: string;
  /** Node IP for status.hostIP/podIP fieldRefs. */
  nodeIP?: string;
  /** Cgroup parent for sandboxes (empty: the runtime's default). */
  cgroupParent?: string;
  /** Deadline of ordinary calls (the kubelet's runtimeRequestTimeout, default 2 minutes). */
  requestTimeoutMs?: number;
  /** Deadline of an image pull (default 5 minutes). */
  pullTimeoutMs?: number;
  /** Exit poll interval when the runtime has no event stream (default 100 ms). */
  pollIntervalMs?: number;
  /** Where the loop's transient errors go (default: dropped). */
  onError?: (err: unknown) => void;
}

const GRPC = { NOT_FOUND: 5, UNAVAILABLE: 14, DEADLINE_EXCEEDED: 4 } as const;

function grpcCode(err: unknown): number | undefined {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'number' ? cause.code : undefined;
}

function isNotFound(err: unknown): boolean {
  return grpcCode(err) === GRPC.NOT_FOUND || /not found/i.test(messageOf(err));
}

/** CRI status → the agent's ContainerRunState. */
export function runState(status: ContainerStatus): ContainerRunState {
  switch (status.state) {
    case 'CONTAINER_RUNNING':
      return { state: 'running', startedAt: criTime(status.startedAt) ?? new Date() };
    case 'CONTAINER_EXITED':
      return {
        state: 'exited',
        startedAt: criTime(status.startedAt),
        finishedAt: criTime(status.finishedAt) ?? new Date(),
        exitCode: status.exitCode,
        reason: status.reason || (status.exitCode === 0 ? 'Completed' : 'Error'),
        ...(status.message ? { message: status.message } : {}),
      };
    case 'CONTAINER_CREATED':
      return { state: 'unknown', reason: 'ContainerCreated' };
    default:
      return { state: 'unknown', reason: status.reason || 'ContainerUnknown' };
  }
}

export class CriRuntime implements Runtime {
  readonly name = 'cri' as const;
  readonly endpoint: string;
  private readonly client: CriClient;
  private readonly watcher: ExitWatcher;
  /** image as written in the pod → image id, from the last ensureImage. */
  private readonly imageRefs = new Map<string, string>();
  /** sandbox id → attempt it was created with (CreateContainer repeats the sandbox config). */
  private readonly sandboxAttempts = new Map<string, number>();
  private initWarnings: string[] = [];

  constructor(private readonly opts: CriRuntimeOptions) {
    this.endpoint = opts.endpoint ?? DEFAULT_CRI_ENDPOINT;
    try {
      this.client = criClient(this.endpoint, { timeoutMs: opts.requestTimeoutMs ?? 120_000 });
    } catch (err) {
      throw new HostError(messageOf(err), { field: '--container-runtime-endpoint' });
    }
    this.watcher = new ExitWatcher({
      client: this.client,
      selector: { [OWNER_LABEL]: opts.nodeName },
      status: (id) => this.status({ id, name: '', attempt: 0 }),
      fastMs: opts.pollIntervalMs ?? 100,
      containerdEndpoint: this.client.endpoint,
      onError: opts.onError,
    });
  }

  async init(): Promise<void> {
    const hint = `is containerd running and listening on ${this.endpoint}? Pass --container-runtime-endpoint, or use --runtime process`;
    let version;
    try {
      version = await this.client.runtime.version({ version: '0.1.0' }, { timeoutMs: 10_000 });
    } catch (err) {
      throw new HostError(`the container runtime at ${this.endpoint} does not answer: ${messageOf(err)}`, { hint });
    }
    if (version.runtimeApiVersion !== 'v1') {
      throw new HostError(`${version.runtimeName} ${version.runtimeVersion} at ${this.endpoint} speaks CRI ${version.runtimeApiVersion}, not v1`, {
        hint: 'use containerd 1.6 or newer',
      });
    }
    const { status } = await this.client.runtime.status({}, { timeoutMs: 10_000 });
    const ready = status?.conditions.find((c) => c.type === 'RuntimeReady');
    if (ready && !ready.status) {
      throw new HostError(`${version.runtimeName} at ${this.endpoint} is not ready: ${ready.reason} ${ready.message}`.trim(), { hint });
    }
    // NetworkReady=false (no CNI) does not matter: static pods use the host network.
    const unsupported = containerdSupportWarning(version);
    this.initWarnings = unsupported ? [unsupported] : [];
  }

  warnings(): readonly string[] {
    return this.initWarnings;
  }

  async ensureImage(container: V1Container, field: string): Promise<void> {
    const image = container.image ?? '';
    const policy = container.imagePullPolicy ?? defaultPullPolicy(image);
    if (policy !== 'Always') {
      const { image: present } = await this.client.image.imageStatus({ image: { image } });
      if (present) {
        this.imageRefs.set(image, present.id);
        return;
      }
      if (policy === 'Never') {
        // the kubelet's wording (images.ErrImageNeverPull)
        throw new ContainerStartError('ErrImageNeverPull', `Container image "${image}" is not present with pull policy of Never`, {
          field: `${field}.image`,
          hint: `import it into the runtime (ctr -n k8s.io images import <archive>, or kubestrap config images import --containerd <socket>), or change imagePullPolicy`,
        });
      }
    }
    try {
      const { imageRef } = await this.client.image.pullImage({ image: { image } }, { timeoutMs: this.opts.pullTimeoutMs ?? 300_000 });
      this.imageRefs.set(image, imageRef);
    } catch (err) {
      throw new ContainerStartError('ErrImagePull', `cannot pull image ${image}: ${messageOf(err)}`, {
        field: `${field}.image`,
        hint: `make the registry reachable, or import the image (ctr -n k8s.io images import) and use imagePullPolicy IfNotPresent`,
      });
    }
  }

  private sandboxConfig(pod: RuntimePod, attempt: number): Input<PodSandboxConfig> {
    return sandboxConfig(pod, {
      nodeName: this.opts.nodeName,
      attempt,
      logDirectory: this.opts.host.path(podLogDirectory(pod)),
      cgroupParent: this.opts.cgroupParent ?? '',
    });
  }

  async runPodSandbox(pod: RuntimePod): Promise<SandboxRef> {
    const { items } = await this.client.runtime.listPodSandbox({
      filter: { labelSelector: { [POD_UID_LABEL]: pod.uid, [OWNER_LABEL]: this.opts.nodeName } },
    });
    const ready = items.find((s) => s.state === 'SANDBOX_READY');
    if (ready) {
      this.sandboxAttempts.set(ready.id, ready.metadata?.attempt ?? 0);
      return { id: ready.id };
    }
    // Old sandboxes of this pod hold its name for their attempt: take the next one, drop the old.
    const attempt = items.reduce((max, s) => Math.max(max, (s.metadata?.attempt ?? 0) + 1), 0);
    for (const old of items) await this.removeSandboxById(old.id);
    await mkdir(this.opts.host.path(podLogDirectory(pod)), { recursive: true, mode: 0o755 });
    try {
      const { podSandboxId } = await this.client.runtime.runPodSandbox({ config: this.sandboxConfig(pod, attempt), runtimeHandler: '' });
      this.sandboxAttempts.set(podSandboxId, attempt);
      return { id: podSandboxId };
    } catch (err) {
      throw new HostError(`cannot create the pod sandbox of ${pod.namespace}/${pod.name}: ${messageOf(err)}`);
    }
  }

  async stopPodSandbox(_pod: RuntimePod, sandbox: SandboxRef): Promise<void> {
    try {
      await this.client.runtime.stopPodSandbox({ podSandboxId: sandbox.id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async removePodSandbox(_pod: RuntimePod, sandbox: SandboxRef): Promise<void> {
    await this.removeSandboxById(sandbox.id);
  }

  private async removeSandboxById(id: string): Promise<void> {
    this.sandboxAttempts.delete(id);
    try {
      await this.client.runtime.stopPodSandbox({ podSandboxId: id });
      await this.client.runtime.removePodSandbox({ podSandboxId: id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async imageRef(image: string): Promise<string> {
    const cached = this.imageRefs.get(image);
    if (cached) return cached;
    const { image: present } = await this.client.image.imageStatus({ image: { image } });
    if (!present) throw new ContainerStartError('ErrImageNeverPull', `Container image "${image}" is not present`, { hint: 'pull or import it first' });
    this.imageRefs.set(image, present.id);
    return present.id;
  }

  async startContainer(pod: RuntimePod, sandbox: SandboxRef, start: ContainerStart): Promise<ContainerRef> {
    const { container, attempt } = start;
    const image = container.image ?? '';
    const [imageRef, mounts] = await Promise.all([
      this.imageRef(image),
      containerMounts(this.opts.host, pod, container),
      mkdir(path.dirname(start.logPath), { recursive: true, mode: 0o755 }),
    ]);
    const logDirectory = this.opts.host.path(podLogDirectory(pod));
    const config = containerConfig(pod, container, {
      nodeName: this.opts.nodeName,
      attempt,
      imageRef,
      logPath: path.relative(logDirectory, start.logPath),
      mounts,
      fieldValues: { nodeIP: this.opts.nodeIP },
      nodeMemoryBytes: os.totalmem(),
    });
    const request = {
      podSandboxId: sandbox.id,
      config,
      sandboxConfig: this.sandboxConfig(pod, this.sandboxAttempts.get(sandbox.id) ?? 0),
    };
    let id: string;
    try {
      ({ containerId: id } = await this.client.runtime.createContainer(request));
    } catch (err) {
      // A leftover (name, attempt) from an earlier run reserves the name: remove it once and retry.
      if (!/reserve container name/i.test(messageOf(err)) || !(await this.removeStale(sandbox.id, container.name, attempt))) {
        throw new ContainerStartError('CreateContainerError', `cannot create container ${container.name} of ${pod.namespace}/${pod.name}: ${messageOf(err)}`);
      }
      ({ containerId: id } = await this.client.runtime.createContainer(request));
    }
    try {
      await this.client.runtime.startContainer({ containerId: id });
    } catch (err) {
      const ref = { id, name: container.name, attempt };
      await this.removeContainer(ref).catch(() => undefined);
      throw new ContainerStartError('RunContainerError', `cannot start container ${container.name} of ${pod.namespace}/${pod.name}: ${messageOf(err)}`);
    }
    return { id, name: container.name, attempt, imageRef };
  }

  /** Removes a stopped container holding (name, attempt) in the sandbox; false when there is none. */
  private async removeStale(sandboxId: string, name: string, attempt: number): Promise<boolean> {
    const { containers } = await this.client.runtime.listContainers({
      filter: { podSandboxId: sandboxId, labelSelector: { [CONTAINER_NAME_LABEL]: name } },
    });
    const stale = containers.find((c) => c.metadata?.attempt === attempt && c.state !== 'CONTAINER_RUNNING');
    if (!stale) return false;
    await this.client.runtime.removeContainer({ containerId: stale.id });
    return true;
  }

  async stopContainer(ref: ContainerRef, graceSeconds: number): Promise<void> {
    const timeout = Math.max(0, Math.ceil(graceSeconds));
    try {
      // containerd sends the stop signal, waits `timeout` s, kills, and returns once the task is gone.
      await this.client.runtime.stopContainer({ containerId: ref.id, timeout }, { timeoutMs: timeout * 1000 + (this.opts.requestTimeoutMs ?? 120_000) });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async removeContainer(ref: ContainerRef): Promise<void> {
    try {
      await this.client.runtime.removeContainer({ containerId: ref.id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async status(ref: ContainerRef): Promise<ContainerRunState> {
    try {
      const { status } = await this.client.runtime.containerStatus({ containerId: ref.id }, { timeoutMs: 10_000 });
      return status ? runState(status) : { state: 'unknown', reason: 'ContainerNotFound' };
    } catch (err) {
      if (isNotFound(err)) return { state: 'unknown', reason: 'ContainerNotFound' };
      throw err;
    }
  }

  waitExit(ref: ContainerRef, signal?: AbortSignal): Promise<ContainerRunState> {
    return this.watcher.wait(ref.id, signal);
  }

  async exec(ref: ContainerRef, command: string[], timeoutMs: number): Promise<ExecResult> {
    const { stdout, stderr, exitCode } = await this.client.runtime.execSync(
      { containerId: ref.id, cmd: command, timeout: Math.max(1, Math.ceil(timeoutMs / 1000)) },
      { timeoutMs: timeoutMs + 5000 },
    );
    return { exitCode, output: Buffer.concat([stdout, stderr]).toString('utf8') };
  }

  async listManaged(): Promise<ManagedContainer[]> {
    const { containers } = await this.client.runtime.listContainers({ filter: { labelSelector: { [OWNER_LABEL]: this.opts.nodeName } } });
    return containers.map((c) => ({
      ref: { id: c.id, name: c.metadata?.name ?? c.labels[CONTAINER_NAME_LABEL] ?? '', attempt: c.metadata?.attempt ?? 0, imageRef: c.imageRef },
      podUid: c.labels[POD_UID_LABEL] ?? '',
      podName: c.labels[POD_NAME_LABEL] ?? '',
      namespace: c.labels[POD_NAMESPACE_LABEL] ?? '',
      sandboxId: c.podSandboxId,
      running: c.state === 'CONTAINER_RUNNING',
    }));
  }

  async close(): Promise<void> {
    this.watcher.close();
    this.client.close();
  }
}
