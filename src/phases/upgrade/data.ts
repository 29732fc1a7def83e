/**
 * The upgrade workflow's data: what runs in the cluster, as `upgrade plan` reads it
 * (cluster-state.ts) and computes from it (plan.ts); `upgrade apply`'s preflight needs the same.
 */

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
