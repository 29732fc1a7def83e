/**
 * The Node and its Lease, as the kubelet's node status and nodelease controllers keep them: wait
 * until the API server answers for this node's identity, register the Node (or adopt the existing
 * one), renew the Lease and report the node status. A joining node needs this without any mirror
 * pods; MirrorSync builds on it.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { Host } from '../../host/host.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../kube/errors.js';
import { sleep } from '../../kube/retry.js';
import type { Logger } from '../log.js';
import { buildLease, LEASE_RENEW_MS, NODE_LEASE_NAMESPACE, renewLease } from './lease.js';
import type { NodeRef } from './mirror-pod.js';
import { buildNode, collectNodeFacts, missingLabels, nodeStatus, type NodeFacts } from './node.js';

export interface NodeRegistrationOptions {
  /** Host path of the kubeconfig (kubelet.conf), rootfs applied through `host`. */
  kubeconfig: string;
  host: Host;
  nodeName: string;
  /** InternalIP of the node (the advertise address). */
  nodeIP: string;
  logger: Logger;
  /** Reported as nodeInfo.kubeletVersion (use the deployed Kubernetes version, e.g. v1.34.4); a function is read at every report. */
  kubeletVersion: string | (() => string);
  /** nodeInfo.containerRuntimeVersion, e.g. `containerd://1.7.24` or `kubestrap-process://0.1.0`. */
  containerRuntimeVersion: string;
  /** The agent's HTTP port, published as daemonEndpoints.kubeletEndpoint.Port. */
  kubeletPort: number;
  /** Taints to register the Node with (NodeRestriction only allows them at create time). */
  registerTaints?: V1Taint[];
  /** How often the API is polled until it answers. */
  connectPollMs: number;
  /** Node status heartbeat (besides the Lease). */
  statusReportMs: number;
}

/** What registration reports to its owner. */
export interface RegistrationEvents {
  /** A failure worth logging once (the owner deduplicates and keeps the last error). */
  fail(what: string, err: unknown): void;
  /** The Node was (re-)registered: anything keyed by the old Node's objects is stale. */
  registered(node: NodeRef): void;
  /** The Lease renewal found no Node: it must be registered again. */
  nodeGone(): void;
}

export interface RegistrationHealth {
  /** The API server answered at least once since start. */
  connected: boolean;
  lastLeaseRenew?: Date;
}

export class NodeRegistration {
  private readonly log: Logger;
  private facts?: NodeFacts;
  private nodeSince = new Date();
  private lastStatusReport = 0;
  private leaseTimer?: NodeJS.Timeout;
  private running = true;
  /** The client of this node's identity, once connect() succeeded. */
  client?: KubeClient;
  /** The registered Node, once ensureNode() succeeded. */
  node?: NodeRef;

  constructor(
    private readonly opts: NodeRegistrationOptions,
    private readonly events: RegistrationEvents,
    /** Where connection and lease renewal show (MirrorSync's health). */
    private readonly health: RegistrationHealth,
    private readonly signal: AbortSignal,
  ) {
    this.log = opts.logger;
  }

  stop(): void {
    this.running = false;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
  }

  /** Waits until kubelet.conf exists and the API server answers for this node's identity. */
  async connect(): Promise<void> {
    while (this.running) {
      try {
        this.client ??= await kubeClient(this.opts.kubeconfig, this.opts.host);
        this.facts ??= await collectNodeFacts(this.opts.host, {
          nodeName: this.opts.nodeName,
          nodeIP: this.opts.nodeIP,
          kubeletPort: this.opts.kubeletPort,
          kubeletVersion: this.kubeletVersion(),
          containerRuntimeVersion: this.opts.containerRuntimeVersion,
        });
        await this.client.core.readNode({ name: this.opts.nodeName }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        this.health.connected = true;
        this.log.info('API server answers', { server: this.client.server, user: this.client.user });
        return;
      } catch (err) {
        this.events.fail('waiting for the API server', err);
        await sleep(this.opts.connectPollMs, this.signal);
      }
    }
  }

  /** Creates the Node (or adopts the existing one) and reports its status; retries until it works. */
  async ensureNode(): Promise<void> {
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
          const labels = missingLabels(node, facts);
          if (labels) {
            // a Node registered before (by a kubelet, or an older agent) gets the agent's labels now
            node = await core.patchNode({ name: facts.nodeName, body: { metadata: { labels } } }, this.client!.strategicMergePatch);
            this.log.info('labelled node', { node: facts.nodeName, labels: Object.keys(labels).join(',') });
          }
          await this.reportStatus(true);
        }
        this.node = { name: facts.nodeName, uid: node.metadata!.uid! };
        this.lastStatusReport = Date.now();
        this.events.registered(this.node);
        return;
      } catch (err) {
        this.events.fail('node registration failed', err);
        await sleep(500, this.signal);
      }
    }
  }

  private kubeletVersion(): string {
    const v = this.opts.kubeletVersion;
    return typeof v === 'function' ? v() : v;
  }

  private async reportStatus(force = false): Promise<void> {
    // a changed version (the kube-apiserver image tag edited) is reported at the next lease renewal
    const version = this.kubeletVersion();
    const changed = version !== this.facts!.kubeletVersion;
    if (changed) this.facts = { ...this.facts!, kubeletVersion: version };
    if (!force && !changed && Date.now() - this.lastStatusReport < this.opts.statusReportMs) return;
    const status = nodeStatus(this.facts!, new Date(), this.nodeSince);
    await this.client!.core.patchNodeStatus({ name: this.opts.nodeName, body: { status } }, this.client!.strategicMergePatch);
    this.lastStatusReport = Date.now();
  }

  /** Renews the Lease after delayMs, then every LEASE_RENEW_MS until stop(). */
  scheduleLease(delayMs: number): void {
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
      this.health.lastLeaseRenew = new Date();
      await this.reportStatus();
    } catch (err) {
      // Conflict: someone else wrote it between read and replace; the next tick re-reads.
      if (!isConflict(err)) this.events.fail('lease renewal failed', err);
      if (isNotFound(err)) this.events.nodeGone(); // the Node is gone: the sync loop re-registers it
    }
  }
}
