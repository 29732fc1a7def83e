/**
 * Waits for container exits with one shared loop instead of one poll per container: every tick lists
 * the agent's containers (one RPC, however many pods) and fetches the final status of those that
 * stopped. When the runtime offers the GetContainerEvents stream (containerd ≥ 1.7), a stop event
 * triggers the check at once and the loop only runs as a slow safety net; containerd 1.6 answers
 * UNIMPLEMENTED, so there containerd's own `/tasks/exit` events (same socket) are the trigger. A
 * trigger starts a short burst of quick checks, because the CRI state may trail the task event by a
 * few milliseconds. Without any stream the fast loop alone bounds crash → restart latency.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { ContainerEventResponse, ContainerState, CriClient } from '../../../cri/client.js';
import type { ContainerRunState } from '../types.js';
import { subscribeTaskExits } from './containerd-events.js';

export interface ExitWatchOptions {
  client: CriClient;
  /** Label selector that matches every container the agent waits on. */
  selector: Record<string, string>;
  /** Final state of one container (ContainerStatus mapped). */
  status(id: string): Promise<ContainerRunState>;
  /** Poll interval without an event stream (default 100 ms). */
  fastMs?: number;
  /** Poll interval while the event stream is up (default 2 s). */
  slowMs?: number;
  /** Also subscribe to containerd's task-exit events on this endpoint (unix://…). */
  containerdEndpoint?: string;
  /** Called with errors the loop swallows (runtime briefly unavailable). */
  onError?(err: unknown): void;
}

interface Waiter {
  resolve(state: ContainerRunState): void;
}

const GRPC_UNIMPLEMENTED = 12;
const GRPC_CANCELLED = 1;
const BURST_MS = 15;
const BURST_LENGTH_MS = 1000;

export class ExitWatcher {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private again = false;
  private closed = false;
  private stream: ClientReadableStream<ContainerEventResponse> | undefined;
  /** undefined: not tried yet; false: the runtime does not implement it. */
  private eventsSupported: boolean | undefined;
  private streamRetry: NodeJS.Timeout | undefined;
  private taskExits: ReturnType<typeof subscribeTaskExits> | undefined;
  /** undefined: not tried yet; true once an event arrived or the subscription is accepted. */
  private taskExitsSupported: boolean | undefined;
  /** Until then, check every BURST_MS: a trigger arrived and the CRI may not show the exit yet. */
  private burstUntil = 0;

  constructor(private readonly opts: ExitWatchOptions) {}

  /** True while the event stream delivers (for reports and tests). */
  get usingEvents(): boolean {
    return (this.stream !== undefined && this.eventsSupported === true) || (this.taskExits !== undefined && this.taskExitsSupported === true);
  }

  wait(id: string, signal?: AbortSignal): Promise<ContainerRunState> {
    return new Promise((resolve) => {
      if (this.closed) return; // see close()
      const waiter: Waiter = {
        resolve: (state) => {
          signal?.removeEventListener('abort', onAbort);
          this.remove(id, waiter);
          resolve(state);
        },
      };
      const onAbort = (): void => waiter.resolve({ state: 'unknown', reason: 'WaitAborted' });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
      this.openStream();
      this.openTaskExits();
      this.schedule(0);
    });
  }

  /**
   * Stops watching. Pending waits are dropped, never resolved: the containers still run (close does
   * not stop them), and a resolved wait would read as an exit and trigger a restart.
   */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.streamRetry);
    this.stream?.cancel();
    this.stream = undefined;
    this.taskExits?.close();
    this.taskExits = undefined;
    this.waiters.clear();
  }

  private remove(id: string, waiter: Waiter): void {
    const set = this.waiters.get(id);
    set?.delete(waiter);
    if (set && set.size === 0) this.waiters.delete(id);
    if (this.waiters.size === 0) clearTimeout(this.timer);
  }

  private interval(): number {
    if (Date.now() < this.burstUntil) return BURST_MS;
    return this.usingEvents ? (this.opts.slowMs ?? 2000) : (this.opts.fastMs ?? 100);
  }

  private schedule(ms: number): void {
    if (this.closed || this.waiters.size === 0) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    // Not unref'd: a pending waitExit is work in progress and keeps the process alive.
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.busy = true;
    this.again = false;
    try {
      const ids = [...this.waiters.keys()];
      if (ids.length === 0) return;
      const { containers } = await this.opts.client.runtime.listContainers({ filter: { labelSelector: this.opts.selector } }, { timeoutMs: 10_000 });
      const states = new Map<string, ContainerState>(containers.map((c) => [c.id, c.state]));
      await Promise.all(
        ids.map(async (id) => {
          const listed = states.get(id);
          if (listed === 'CONTAINER_RUNNING' || listed === 'CONTAINER_CREATED') return;
          // Exited, unknown, or not listed (gone, or not ours): ask for this one's status.
          const state = await this.opts.status(id);
          if (state.state === 'running') return;
          for (const w of [...(this.waiters.get(id) ?? [])]) w.resolve(state);
        }),
      );
    } catch (err) {
      this.opts.onError?.(err);
    } finally {
      this.busy = false;
      this.schedule(this.again ? 0 : this.interval());
    }
  }

  private openStream(): void {
    if (this.stream || this.eventsSupported === false || this.closed) return;
    const stream = this.opts.client.runtime.getContainerEvents();
    this.stream = stream;
    stream.on('data', (ev: ContainerEventResponse) => {
      this.eventsSupported = true;
      if (this.waiters.has(ev.containerId) && (ev.containerEventType === 'CONTAINER_STOPPED_EVENT' || ev.containerEventType === 'CONTAINER_DELETED_EVENT')) {
        this.trigger();
      }
    });
    stream.on('error', (err: Error & { code?: number }) => {
      if (this.stream === stream) this.stream = undefined;
      if (err.code === GRPC_UNIMPLEMENTED) this.eventsSupported = false;
      else if (err.code !== GRPC_CANCELLED && !this.closed) {
        this.opts.onError?.(err);
        clearTimeout(this.streamRetry);
        this.streamRetry = setTimeout(() => this.waiters.size > 0 && this.openStream(), 1000);
        this.streamRetry.unref?.();
      }
      // Events may have been missed while the stream was down: check now.
      this.schedule(0);
    });
    stream.on('end', () => {
      if (this.stream === stream) this.stream = undefined;
    });
  }

  private trigger(): void {
    this.burstUntil = Date.now() + BURST_LENGTH_MS;
    this.schedule(0);
  }

  private openTaskExits(): void {
    const endpoint = this.opts.containerdEndpoint;
    if (!endpoint || this.taskExits || this.taskExitsSupported === false || this.closed) return;
    const sub = subscribeTaskExits(endpoint);
    this.taskExits = sub;
    // Headers arrive when containerd accepts the subscription: from then on, exits are pushed.
    sub.stream.on('metadata', () => {
      this.taskExitsSupported = true;
    });
    sub.stream.on('data', () => {
      this.taskExitsSupported = true;
      if (this.waiters.size > 0) this.trigger();
    });
    sub.stream.on('error', (err: Error & { code?: number }) => {
      if (this.taskExits === sub) this.taskExits = undefined;
      sub.close();
      if (err.code === GRPC_UNIMPLEMENTED) this.taskExitsSupported = false;
      else if (err.code !== GRPC_CANCELLED && !this.closed) {
        this.opts.onError?.(err);
        setTimeout(() => this.waiters.size > 0 && this.openTaskExits(), 1000).unref?.();
      }
      this.schedule(0);
    });
  }
}
