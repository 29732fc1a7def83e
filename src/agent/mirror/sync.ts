/**
 * MirrorSync: the agent's API side. Once the API server answers (as `system:node:<node>` from
 * kubelet.conf) it registers the Node, keeps its Lease renewed, and keeps one mirror pod per static
 * pod (created, status-patched, recreated when deleted, replaced when the hash changes, removed when
 * the static pod goes away). It never touches the containers: mirrors are only a view.
 */
import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { Watch } from '../../kube/client-node.js';
import type { Host } from '../../host/host.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import { apiErrorMessage, isAlreadyExists, isConflict, isForbidden, isNotFound } from '../../kube/errors.js';
import { sleep } from '../../kube/retry.js';
import type { Logger } from '../log.js';
import type { PodState, StaticPod } from '../pod-types.js';
import { podEvent, needsRejection, rejectionStatus, REJECT_REASON } from './foreign.js';
import { buildLease, LEASE_RENEW_MS, NODE_LEASE_NAMESPACE, renewLease } from './lease.js';
import {
  buildMirrorPod,
  isMirrorOf,
  isMirrorPod,
  mirrorStatus,
  statusFingerprint,
  statusPatch,
  type NodeRef,
} from './mirror-pod.js';
import { buildNode, collectNodeFacts, nodeStatus, type NodeFacts } from './node.js';

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
  /** Reported as nodeInfo.kubeletVersion (use the deployed Kubernetes version, e.g. v1.34.4). */
  kubeletVersion: string;
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

const podKey = (ns: string | undefined, name: string | undefined): string => `${ns ?? ''}/${name ?? ''}`;

export class MirrorSync {
  private readonly opts: Required<Pick<MirrorSyncOptions, 'resyncMs' | 'connectPollMs' | 'statusReportMs'>> & MirrorSyncOptions;
  private readonly log: Logger;
  private client?: KubeClient;
  private facts?: NodeFacts;
  private node?: NodeRef;
  private nodeSince = new Date();
  private running = false;
  private loop?: Promise<void>;
  private readonly abort = new AbortController();
  private watchAbort?: AbortController;
  private unsubscribe?: () => void;
  private wake?: () => void;
  private dirty = true;
  /** Set when part of a sync failed: the next one comes at the connect pace, not after resyncMs. */
  private retrySoon = false;
  private lastStatusReport = 0;
  private leaseTimer?: NodeJS.Timeout;
  private readonly patched = new Map<string, string>(); // mirror UID → status fingerprint
  private readonly reported = new Map<string, Set<string>>(); // static pod UID → errors already sent as events
  private readonly rejected = new Set<string>(); // UIDs of foreign pods rejected
  private readonly state: MirrorSyncHealth = { connected: false, nodeRegistered: false, mirrorPods: 0, rejectedPods: 0 };

  constructor(options: MirrorSyncOptions) {
    this.opts = { resyncMs: 2000, connectPollMs: 250, statusReportMs: 60_000, ...options };
    this.log = options.logger.child({ component: 'mirror-sync' });
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
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    this.wake?.();
    await this.loop;
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
    await this.connect();
    if (!this.running) return;
    await this.ensureNode();
    if (!this.running) return;
    this.scheduleLease(0);
    this.startWatch();
    while (this.running) {
      let failed = false;
      if (this.dirty) {
        this.dirty = false;
        this.retrySoon = false;
        try {
          await this.syncOnce();
          this.state.lastSync = new Date();
        } catch (err) {
          failed = true;
          this.fail('mirror pod sync failed', err);
          if (isNotFound(err) || isForbidden(err)) await this.ensureNode().catch((e: unknown) => this.fail('node registration failed', e));
        }
      }
      // A failed sync is retried at the connect pace: right after start-up the API server answers
      // before its post-start hooks made the system PriorityClasses, so the first mirror creations
      // fail; waiting a full resync period then delays the mirrors by up to resyncMs.
      await this.idle(failed || this.retrySoon ? this.opts.connectPollMs : this.opts.resyncMs);
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

  /** Waits until kubelet.conf exists and the API server answers for this node's identity. */
  private async connect(): Promise<void> {
    while (this.running) {
      try {
        this.client ??= await kubeClient(this.opts.kubeconfig, this.opts.host);
        this.facts ??= await collectNodeFacts(this.opts.host, {
          nodeName: this.opts.nodeName,
          nodeIP: this.opts.nodeIP,
          kubeletPort: this.opts.kubeletPort,
          kubeletVersion: this.opts.kubeletVersion,
          containerRuntimeVersion: this.opts.containerRuntimeVersion,
        });
        await this.client.core.readNode({ name: this.opts.nodeName }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        this.state.connected = true;
        this.log.info('API server answers', { server: this.client.server, user: this.client.user });
        return;
      } catch (err) {
        this.fail('waiting for the API server', err);
        await sleep(this.opts.connectPollMs, this.abort.signal);
      }
    }
  }

  /** Creates the Node (or adopts the existing one) and reports its status; retries until it works. */
  private async ensureNode(): Promise<void> {
    const { core } = this.client!;
    const facts = this.facts!;
    while (this.running) {
      try {
        let node: V1Node;
        try {
          node = await core.createNode({ body: buildNode(facts, new Date(), this.opts.registerTaints) });
          this.nodeSince = new Date();
          this.log.info('registered node', { node: facts.nodeName });
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          node = await core.readNode({ name: facts.nodeName });
          await this.reportStatus(true);
        }
        this.node = { name: facts.nodeName, uid: node.metadata!.uid! };
        this.state.nodeRegistered = true;
        this.state.nodeUid = this.node.uid;
        this.lastStatusReport = Date.now();
        this.patched.clear();
        return;
      } catch (err) {
        this.fail('node registration failed', err);
        await sleep(500, this.abort.signal);
      }
    }
  }

  private async reportStatus(force = false): Promise<void> {
    if (!force && Date.now() - this.lastStatusReport < this.opts.statusReportMs) return;
    const status = nodeStatus(this.facts!, new Date(), this.nodeSince);
    await this.client!.core.patchNodeStatus({ name: this.opts.nodeName, body: { status } }, this.client!.strategicMergePatch);
    this.lastStatusReport = Date.now();
  }

  private scheduleLease(delayMs: number): void {
    if (!this.running) return;
    this.leaseTimer = setTimeout(() => {
      void this.renewLease().finally(() => this.scheduleLease(LEASE_RENEW_MS));
    }, delayMs);
  }

  private async renewLease(): Promise<void> {
    const api = this.client!.coordination;
    const name = this.opts.nodeName;
    const node = this.node!;
    try {
      try {
        const current = await api.readNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE });
        await api.replaceNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE, body: renewLease(current, name, node.uid, new Date()) });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await api.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: buildLease(name, node.uid, new Date()) });
      }
      this.state.lastLeaseRenew = new Date();
      await this.reportStatus();
    } catch (err) {
      // Conflict: someone else wrote it between read and replace; the next tick re-reads.
      if (!isConflict(err)) this.fail('lease renewal failed', err);
      if (isNotFound(err)) this.notify(); // the Node is gone: the sync loop re-registers it
    }
  }

  /** Watches pods bound to this node so a deleted mirror or a newly bound pod is handled at once. */
  private startWatch(): void {
    if (!this.running) return;
    const watch = new Watch(this.client!.kc);
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

  /** One reconciliation of the API's pods on this node against the workers' static pods. */
  private async syncOnce(): Promise<void> {
    const { core } = this.client!;
    const node = this.node!;
    const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.opts.nodeName}` });
    const existing = new Map(list.items.map((p) => [podKey(p.metadata?.namespace, p.metadata?.name), p]));
    const states = this.opts.states();
    const wanted = new Set(states.map((st) => podKey(st.pod.namespace, st.pod.name)));
    // pods are independent: a few at a time, not one round trip after another
    const outcomes = await mapLimited(states, MIRROR_CONCURRENCY, (st) => this.syncMirror(st, existing.get(podKey(st.pod.namespace, st.pod.name)), node));
    const forbidden = outcomes.find((o) => o.error !== undefined && isForbidden(o.error));
    if (forbidden) throw forbidden.error; // likely a stale Node UID: re-register
    const mirrors = outcomes.filter((o) => o.mirrored).length;

    const ready = this.opts.sourcesReady?.() ?? true;
    for (const [key, pod] of existing) {
      if (wanted.has(key)) continue;
      if (isMirrorPod(pod)) {
        if (ready) await this.deleteMirror(pod).catch((err: unknown) => this.fail(`deleting mirror pod ${key}`, err));
      } else if (needsRejection(pod) && !this.rejected.has(pod.metadata?.uid ?? '')) {
        await this.reject(pod).catch((err: unknown) => this.fail(`rejecting pod ${key}`, err));
      }
    }
    for (const uid of this.reported.keys()) {
      if (!states.some((s) => s.pod.uid === uid)) this.reported.delete(uid);
    }
    this.state.mirrorPods = mirrors;
  }

  /** Creates (or replaces) one static pod's mirror and brings its status up to date; whether it has one, and what failed. */
  private async syncMirror(st: PodState, current: V1Pod | undefined, node: NodeRef): Promise<{ mirrored: boolean; error?: unknown }> {
    const sp = st.pod;
    const key = podKey(sp.namespace, sp.name);
    let mirror = current;
    if (mirror && !isMirrorPod(mirror)) {
      this.fail(`pod ${key} exists and is not a mirror pod`, new Error('kept as is; the static pod gets no mirror'));
      return { mirrored: false };
    }
    try {
      if (mirror && (!isMirrorOf(mirror, sp) || mirror.metadata?.deletionTimestamp)) {
        await this.deleteMirror(mirror);
        mirror = undefined;
      }
      mirror ??= await this.createMirror(sp, node);
      if (!mirror) return { mirrored: false };
      await this.patchStatus(mirror, st);
      await this.reportErrors(mirror, st);
      return { mirrored: true };
    } catch (error) {
      this.retrySoon = true;
      this.fail(`mirror pod ${key}`, error);
      return { mirrored: mirror !== undefined, error };
    }
  }

  private async createMirror(sp: StaticPod, node: NodeRef): Promise<V1Pod | undefined> {
    const { core } = this.client!;
    try {
      const created = await core.createNamespacedPod({ namespace: sp.namespace, body: buildMirrorPod(sp, node) });
      this.log.info('created mirror pod', { pod: `${sp.namespace}/${sp.name}`, hash: sp.hash });
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Created by an earlier attempt whose answer was lost: fine if it carries the same hash.
      const current = await core.readNamespacedPod({ name: sp.name, namespace: sp.namespace });
      return isMirrorOf(current, sp) ? current : undefined;
    }
  }

  /** Deletes with grace 0 and a UID precondition, so a mirror someone just recreated survives. */
  private async deleteMirror(pod: V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    try {
      await this.client!.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
      this.log.info('deleted mirror pod', { pod: `${namespace}/${name}` });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    this.patched.delete(pod.metadata!.uid!);
  }

  private async patchStatus(mirror: V1Pod, st: PodState): Promise<void> {
    const uid = mirror.metadata!.uid!;
    const status = mirrorStatus(st, this.opts.nodeIP);
    const fp = statusFingerprint(status);
    if (this.patched.get(uid) === fp) return;
    try {
      await this.client!.core.patchNamespacedPodStatus(
        { name: mirror.metadata!.name!, namespace: mirror.metadata!.namespace!, body: statusPatch(uid, status) },
        this.client!.strategicMergePatch,
      );
      this.patched.set(uid, fp);
    } catch (err) {
      // The mirror was deleted or replaced since the list: the next sync handles the new one.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** One Warning event per distinct error of a static pod, on its mirror pod. */
  private async reportErrors(mirror: V1Pod, st: PodState): Promise<void> {
    let seen = this.reported.get(st.pod.uid);
    if (!seen) this.reported.set(st.pod.uid, (seen = new Set()));
    for (const e of [...seen]) if (!st.errors.includes(e)) seen.delete(e); // a recurring error is reported again
    for (const error of st.errors) {
      if (seen.has(error)) continue;
      const reason = /pars|yaml|manifest|source/i.test(error) ? 'FailedToParseManifest' : 'Failed';
      await this.client!.core.createNamespacedEvent({
        namespace: st.pod.namespace,
        body: podEvent(mirror, this.opts.nodeName, 'Warning', reason, error),
      });
      seen.add(error);
    }
  }

  /** Marks a scheduled pod Failed (as a kubelet rejecting it at admission) and records an event. */
  private async reject(pod: V1Pod): Promise<void> {
    const { core } = this.client!;
    const name = pod.metadata!.name!;
    const namespace = pod.metadata!.namespace!;
    const status = rejectionStatus(this.opts.nodeName);
    try {
      await core.patchNamespacedPodStatus({ name, namespace, body: statusPatch(pod.metadata!.uid!, status) }, this.client!.strategicMergePatch);
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
    await core
      .createNamespacedEvent({ namespace, body: podEvent(pod, this.opts.nodeName, 'Warning', REJECT_REASON, status.message!) })
      .catch((err: unknown) => this.fail(`event for rejected pod ${namespace}/${name}`, err));
    this.rejected.add(pod.metadata!.uid!);
    this.state.rejectedPods++;
    this.log.info('rejected pod bound to this node', { pod: `${namespace}/${name}`, reason: REJECT_REASON });
  }
}

/** Mirror pods synced at the same time: a control plane's handful at once, a big node without a burst of connections. */
const MIRROR_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls running; results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
