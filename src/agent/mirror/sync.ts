/**
 * MirrorSync: the agent's API side. Once the API server answers (as `system:node:<node>` from
 * kubelet.conf) it registers the Node and keeps its Lease renewed (registration.ts), and keeps one
 * mirror pod per static pod (reconcile.ts), resyncing periodically and when a watch or a pod state
 * change asks for it. It never touches the containers: mirrors are only a view.
 */
import type { V1Taint } from '@kubernetes/client-node';
import { Watch } from '../../kube/client-node.js';
import type { Host } from '../../host/host.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import { apiErrorMessage, isForbidden, isNotFound } from '../../kube/errors.js';
import type { Logger } from '../log.js';
import type { PodState } from '../pod-types.js';
import { MirrorReconciler } from './reconcile.js';
import { NodeRegistration } from './registration.js';

export interface MirrorSyncOptions {
  /** Host path of the kubeconfig (kubelet.conf), rootfs applied through `host`. */
  kubeconfig: string;
  host: Host;
  nodeName: string;
  /** InternalIP of the node (the advertise address). */
  nodeIP: string;
  logger: Logger;
  /** The workers' current pods; read on every sync. */
  states: () => PodState[];
  /** Subscribes to pod state changes (PodWorkers.onChange); returns the unsubscribe function. */
  onChange?: (cb: (state: PodState) => void) => () => void;
  /**
   * False until every source has delivered its first snapshot: before that an empty `states()`
   * would delete every mirror (kubelet waits for "sources ready" for the same reason).
   */
  sourcesReady?: () => boolean;
  /**
   * Reported as nodeInfo.kubeletVersion (use the deployed Kubernetes version, e.g. v1.34.4); a
   * function is read at every status report, so an image-tag upgrade shows on the Node.
   */
  kubeletVersion: string | (() => string);
  /** nodeInfo.containerRuntimeVersion, e.g. `containerd://1.7.24` or `kubestrap-process://0.1.0`. */
  containerRuntimeVersion: string;
  /** The agent's HTTP port, published as daemonEndpoints.kubeletEndpoint.Port. */
  kubeletPort: number;
  /** Taints to register the Node with (NodeRestriction only allows them at create time). */
  registerTaints?: V1Taint[];
  /** Full resync period; a watch makes most changes faster. Default 2 s. */
  resyncMs?: number;
  /** How often the API is polled until it answers. Default 250 ms. */
  connectPollMs?: number;
  /** Node status heartbeat (besides the Lease). Default 60 s. */
  statusReportMs?: number;
}

export interface MirrorSyncHealth {
  /** The API server answered at least once since start. */
  connected: boolean;
  nodeRegistered: boolean;
  nodeUid?: string;
  lastLeaseRenew?: Date;
  lastSync?: Date;
  /** Mirror pods this agent keeps. */
  mirrorPods: number;
  /** Foreign pods rejected since start. */
  rejectedPods: number;
  lastError?: string;
}

export class MirrorSync {
  private readonly opts: Required<Pick<MirrorSyncOptions, 'resyncMs' | 'connectPollMs' | 'statusReportMs'>> & MirrorSyncOptions;
  private readonly log: Logger;
  private readonly registration: NodeRegistration;
  private reconciler?: MirrorReconciler;
  private running = false;
  private loop?: Promise<void>;
  private readonly abort = new AbortController();
  private watchAbort?: AbortController;
  private unsubscribe?: () => void;
  private wake?: () => void;
  private dirty = true;
  private readonly state: MirrorSyncHealth = { connected: false, nodeRegistered: false, mirrorPods: 0, rejectedPods: 0 };

  constructor(options: MirrorSyncOptions) {
    this.opts = { resyncMs: 2000, connectPollMs: 250, statusReportMs: 60_000, ...options };
    this.log = options.logger.child({ component: 'mirror-sync' });
    this.registration = new NodeRegistration(
      { ...this.opts, logger: this.log },
      {
        fail: (what, err) => this.fail(what, err),
        registered: (node) => {
          this.state.nodeRegistered = true;
          this.state.nodeUid = node.uid;
          this.reconciler?.nodeRegistered();
        },
        nodeGone: () => this.notify(),
      },
      this.state,
      this.abort.signal,
    );
  }

  /** Starts connecting in the background; never throws (problems show in `health()` and the log). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.opts.onChange?.(() => this.notify());
    this.loop = this.run().catch((err: unknown) => this.fail('mirror sync stopped', err));
  }

  /** Stops timers, the watch and the loop; leaves the Node, Lease and mirrors in place (like a kubelet stop). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.abort.abort();
    this.watchAbort?.abort();
    this.registration.stop();
    this.wake?.();
    await this.loop;
  }

  /**
   * The kubeconfig's credentials changed (a rotated client certificate): the clients are rebuilt
   * from it and the watch reopened with them; nothing else restarts.
   */
  async credentialsChanged(): Promise<void> {
    if (!this.running || !this.registration.client) return;
    const client = await kubeClient(this.opts.kubeconfig, this.opts.host);
    this.registration.client = client;
    this.reconciler?.setClient(client);
    this.watchAbort?.abort(); // its done callback reopens it with registration.client
    this.log.info('API clients reloaded with the new credentials', { user: client.user });
  }

  /** Asks for a sync soon (a pod's state changed, or a watch saw something). */
  notify(): void {
    this.dirty = true;
    this.wake?.();
  }

  health(): MirrorSyncHealth {
    return { ...this.state };
  }

  private fail(what: string, err: unknown): void {
    const msg = `${what}: ${apiErrorMessage(err)}`;
    if (this.state.lastError !== msg) this.log.warn(what, { error: apiErrorMessage(err) });
    this.state.lastError = msg;
  }

  private async run(): Promise<void> {
    const registration = this.registration;
    await registration.connect();
    if (!this.running) return;
    const client: KubeClient = registration.client!;
    const reconciler = (this.reconciler = new MirrorReconciler(client, this.opts, this.log, { fail: (what, err) => this.fail(what, err) }, this.state));
    await registration.ensureNode();
    if (!this.running) return;
    registration.scheduleLease(0);
    this.startWatch();
    while (this.running) {
      let failed = false;
      if (this.dirty) {
        this.dirty = false;
        reconciler.retrySoon = false;
        try {
          await reconciler.syncOnce(registration.node!);
          this.state.lastSync = new Date();
        } catch (err) {
          failed = true;
          this.fail('mirror pod sync failed', err);
          if (isNotFound(err) || isForbidden(err)) await registration.ensureNode().catch((e: unknown) => this.fail('node registration failed', e));
        }
      }
      // A failed sync is retried at the connect pace: right after start-up the API server answers
      // before its post-start hooks made the system PriorityClasses, so the first mirror creations
      // fail; waiting a full resync period then delays the mirrors by up to resyncMs.
      await this.idle(failed || reconciler.retrySoon ? this.opts.connectPollMs : this.opts.resyncMs);
      this.dirty = true;
    }
  }

  /** Sleeps until the resync period passes or someone calls notify(). */
  private async idle(ms: number): Promise<void> {
    if (!this.running || this.dirty) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  /** Watches pods bound to this node so a deleted mirror or a newly bound pod is handled at once. */
  private startWatch(): void {
    if (!this.running) return;
    const watch = new Watch(this.registration.client!.kc);
    watch
      .watch(
        '/api/v1/pods',
        { fieldSelector: `spec.nodeName=${this.opts.nodeName}`, allowWatchBookmarks: false },
        (phase) => {
          if (phase === 'DELETED' || phase === 'ADDED' || phase === 'MODIFIED') this.notify();
        },
        () => {
          if (this.running) setTimeout(() => this.startWatch(), 1000).unref();
        },
      )
      .then((ac) => {
        this.watchAbort = ac;
        if (!this.running) ac.abort();
      })
      .catch((err: unknown) => {
        this.fail('pod watch failed', err);
        if (this.running) setTimeout(() => this.startWatch(), 1000).unref();
      });
  }
}
