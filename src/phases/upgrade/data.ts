/**
 * The upgrade workflow's data: what runs in the cluster, as `upgrade plan` reads it
 * (cluster-state.ts) and computes from it (plan.ts); `upgrade apply`'s preflight needs the same;
 * and the data of `upgrade apply` / `upgrade node` (kubeadm's apply.Data / node.Data).
 */
import type { ResolvedConfig } from '../../config/types.js';
import type { Host } from '../../host/host.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import type { Printer } from '../../output.js';
import type { ComponentName } from '../../manifests/index.js';
import type { AdminClientData } from '../data.js';
import type { ControlPlaneContext } from './control-plane.js';
import { StaticPodPathManager } from '../static-pod-paths.js';
import { AgentWaiter } from '../agent-waiter.js';

/** The control-plane static pods whose versions the plan reads from their mirror pods' image tags. */
export const PLAN_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'] as const;
export type PlanComponent = (typeof PLAN_COMPONENTS)[number];

export interface NodeVersion {
  node: string;
  /** The image tag (components) or nodeInfo.kubeletVersion (kubelets). */
  version: string;
}

/** What runs in the cluster, as the plan needs it. */
export interface ClusterState {
  /** ClusterConfiguration.kubernetesVersion of kube-system/kubeadm-config. */
  configVersion: string;
  externalEtcd: boolean;
  /** Per component, the version on each node (mirror pods, label `component=<name>`). */
  components: Record<PlanComponent, NodeVersion[]>;
  /** Nodes with a real kubelet (not the kubestrap agent), with its reported version. */
  kubelets: NodeVersion[];
  /** Nodes that run the kubestrap agent (label node.kubestrap.io/static-pods-only). */
  agentNodes: string[];
  /** The kube-proxy DaemonSet's image tag and the CoreDNS Deployment's, when deployed. */
  kubeProxyVersion?: string;
  dnsVersion?: string;
  /** kube-apiserver pods advertising a loopback address without `--endpoint-reconciler-type=none`. */
  loopbackAdvertise: NodeVersion[];
  /** Component config API groups: the version the cluster's ConfigMap holds ('' when absent). */
  componentConfigs: { group: string; current: string; preferred: string }[];
}

// ---------------------------------------------------------------------------------------------
// `upgrade apply` / `upgrade node`: the workflow's data (kubeadm's apply.Data / node.Data)

export interface UpgradeInput {
  /** The config of this node at the target version (node-config.ts). */
  config: ResolvedConfig;
  host: Host;
  out: Printer;
  dryRun: boolean;
  /** The kubeconfig the post-upgrade phases use (admin.conf; kubelet.conf on a worker). */
  kubeconfig: string;
  /** `--yes`: no confirmation prompt. */
  yes: boolean;
  /** `--force`: skippable version-skew errors are warnings. */
  force: boolean;
  renewCertificates: boolean;
  etcdUpgrade: boolean;
  /** The control-plane manifests present on this node. */
  components: readonly ComponentName[];
  /** Asks the operator (apply without --yes); resolves true to go on. */
  confirm?: (question: string) => Promise<boolean>;
}

export class UpgradeData implements AdminClientData, ControlPlaneContext {
  readonly config: ResolvedConfig;
  readonly host: Host;
  readonly out: Printer;
  readonly dryRun: boolean;
  readonly input: UpgradeInput;
  readonly paths: StaticPodPathManager;
  readonly waiter: AgentWaiter;
  readonly renewCertificates: boolean;
  readonly etcdUpgrade: boolean;
  readonly components: readonly ComponentName[];
  /** What preflight read from the cluster (apply), for the later phases. */
  state?: ClusterState;
  /** Set by the addon phase when some kube-apiserver is not at the target yet. */
  addonsSkipped = false;
  private client?: Promise<KubeClient>;

  constructor(input: UpgradeInput) {
    this.input = input;
    this.config = input.config;
    this.host = input.host;
    this.out = input.out;
    this.dryRun = input.dryRun;
    this.renewCertificates = input.renewCertificates;
    this.etcdUpgrade = input.etcdUpgrade;
    this.components = input.components;
    this.paths = new StaticPodPathManager(input.host, input.config.paths.kubernetesDir, input.config.paths.manifestsDir);
    this.waiter = new AgentWaiter(input.host);
  }

  adminClient(): Promise<KubeClient> {
    const pending = (this.client ??= kubeClient(this.input.kubeconfig, this.host));
    pending.catch(() => {
      if (this.client === pending) this.client = undefined;
    });
    return pending;
  }

  /** Whether this node runs a control plane (its kube-apiserver manifest is here). */
  get controlPlane(): boolean {
    return this.components.includes('kube-apiserver');
  }
}
