/**
 * Facts several layers need and that must not drift apart: the well-known ports of the control
 * plane and the agent (kubeadm's constants.go), the kubeconfig files init writes, and the host
 * paths init, the agent and reset share. One home each; a module that needs one imports it here.
 */

/** Ports the control-plane components and the agent listen on (defaults; flags may move some). */
export const PORTS = {
  /** kube-apiserver --secure-port (kubeadm's localAPIEndpoint.bindPort default). */
  apiServer: 6443,
  etcdClient: 2379,
  etcdPeer: 2380,
  /** etcd --listen-metrics-urls: /readyz and /livez over plain HTTP on 127.0.0.1. */
  etcdMetrics: 2381,
  /** The kubelet's healthz (what the uploaded KubeletConfiguration names). */
  kubeletHealthz: 10248,
  /** The agent's kubelet API (HTTPS, authenticated), the kubelet's `port`. */
  kubeletApi: 10250,
  /** The agent's read-only HTTP API (the kubelet's legacy readOnlyPort), on 127.0.0.1; off by default. */
  agentReadOnly: 10255,
  controllerManager: 10257,
  scheduler: 10259,
  /** The node-local API load balancer (src/lb) on 127.0.0.1: kubelets and agents dial it instead of one API server (k0s uses the same port). */
  apiLoadBalancer: 7443,
} as const;

export const AGENT_READ_ONLY_PORT = PORTS.agentReadOnly;

/**
 * What a node behind the node-local balancer dials, and the names the API server certificates then
 * need (`init --node-local-lb` adds them to apiServer.certSANs): the kubelet's TLS bootstrap writes
 * kubelet.conf with the bootstrap kubeconfig's server and CA only (no tls-server-name), so the
 * certificate itself must name 127.0.0.1.
 */
export const NODE_LOCAL_LB = {
  host: '127.0.0.1',
  port: PORTS.apiLoadBalancer,
  server: `https://127.0.0.1:${PORTS.apiLoadBalancer}`,
  certSANs: ['127.0.0.1', 'localhost'],
} as const;

/** The group admin.conf's client certificate carries and the ClusterRoleBinding that authorizes it (kubeadm ≥ 1.29). */
export const CLUSTER_ADMINS_GROUP = 'kubeadm:cluster-admins';

/** kubeadm's LabelNodeRoleControlPlane: the control-plane nodes' role label and the key of their NoSchedule taint. */
export const LABEL_NODE_ROLE_CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

/** The kubeconfig files under the kubernetes dir (kubeadm's *KubeConfigFileName). */
export const KUBECONFIG_FILES = {
  admin: 'admin.conf',
  superAdmin: 'super-admin.conf',
  kubelet: 'kubelet.conf',
  /** Written by `kubeadm join` before TLS bootstrap; reset removes it too. */
  bootstrapKubelet: 'bootstrap-kubelet.conf',
  controllerManager: 'controller-manager.conf',
  scheduler: 'scheduler.conf',
} as const;

export const KUBERNETES_DIR = '/etc/kubernetes';
export const MANIFESTS_DIR = '/etc/kubernetes/manifests';
/** kubelet.conf as the agent is told to read it (host path, rootfs applied by the agent). */
export const KUBELET_KUBECONFIG = `${KUBERNETES_DIR}/${KUBECONFIG_FILES.kubelet}`;
/** Container logs: `<ns>_<pod>_<uid>/<container>/<restart>.log`, CRI log format. */
export const POD_LOGS_DIR = '/var/log/pods';
/** kubestrap's own state on the host (agent config, flags, checkpoints, image store). */
export const KUBESTRAP_STATE_DIR = '/var/lib/kubestrap';
export const AGENT_STATE_DIR = `${KUBESTRAP_STATE_DIR}/agent`;
/** The API servers the node-local balancer last found in the EndpointSlice: its upstreams after a restart, before the slice answers. */
export const API_SERVERS_FILE = `${KUBESTRAP_STATE_DIR}/api-servers.json`;
/** Where image binaries of the process runtime live. */
export const IMAGES_DIR = `${KUBESTRAP_STATE_DIR}/images`;

/** imagePullPolicy values (core/v1 PullPolicy), for kubeadm's nodeRegistration and every Pod. */
export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** The kubelet's own directory (kubeadm's KubeletRunDirectory) and what join writes there. */
export const KUBELET_DIR = '/var/lib/kubelet';
export const KUBELET_PATHS = {
  /** The KubeletConfiguration join writes (kubelet-config ConfigMap + the node's document). */
  config: `${KUBELET_DIR}/config.yaml`,
  /** `KUBELET_KUBEADM_ARGS="..."`: the node's own kubelet flags (kubeadm-flags.env). */
  flagsEnv: `${KUBELET_DIR}/kubeadm-flags.env`,
  /** The kubelet's --cert-dir: its client certificate after the TLS bootstrap, its serving cert. */
  pkiDir: `${KUBELET_DIR}/pki`,
  /**
   * The node's own KubeletConfiguration document of join's --config, kept so `upgrade node` lays it
   * over the cluster's kubelet-config again (with kubeadm a node gives it through --patches each time).
   */
  nodeConfig: `${KUBELET_DIR}/kubestrap-node-config.yaml`,
  bootstrapKubeconfig: `${KUBERNETES_DIR}/${KUBECONFIG_FILES.bootstrapKubelet}`,
} as const;

/** What uploads the shared control-plane certificates again with a new key, printed by every download error. */
export const UPLOAD_CERTS_COMMAND = 'kubestrap init phase upload-certs --upload-certs';
