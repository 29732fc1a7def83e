/**
 * The `kubestrap init` flags (kubeadm's names). One table drives the commander options for `init`
 * and every `init phase ...` subcommand, and tells config resolution which field a flag overrides.
 */
export interface InitFlags {
  config?: string;
  apiserverAdvertiseAddress?: string;
  apiserverBindPort?: string;
  controlPlaneEndpoint?: string;
  kubernetesVersion?: string;
  podNetworkCidr?: string;
  serviceCidr?: string;
  serviceDnsDomain?: string;
  apiserverCertExtraSans?: string;
  certDir?: string;
  nodeName?: string;
  imageRepository?: string;
  criSocket?: string;
  ignorePreflightErrors?: string;
  skipPhases?: string;
  dryRun?: boolean;
  rootfs?: string;
  runtime?: string;
  uploadCerts?: boolean;
  certificateKey?: string;
  token?: string;
  tokenTtl?: string;
  /** kubestrap's own (not kubeadm's): the API server certificates also name 127.0.0.1 and localhost, for nodes behind the node-local balancer. */
  nodeLocalLb?: boolean;
}

export interface FlagSpec {
  /** commander syntax, e.g. `--pod-network-cidr <cidr>`. */
  flags: string;
  help: string;
  /** The config field the flag overrides, for error messages (`networking.podSubnet`). */
  field?: string;
}

export const INIT_FLAGS: readonly FlagSpec[] = [
  { flags: '--config <file>', help: 'path to a kubeadm.k8s.io/v1beta4 configuration file' },
  { flags: '--apiserver-advertise-address <ip>', help: 'IP address the API server advertises it is listening on', field: 'localAPIEndpoint.advertiseAddress' },
  { flags: '--apiserver-bind-port <port>', help: 'port for the API server to bind to (default 6443)', field: 'localAPIEndpoint.bindPort' },
  { flags: '--control-plane-endpoint <host[:port]>', help: 'a stable IP address or DNS name for the control plane', field: 'controlPlaneEndpoint' },
  { flags: '--kubernetes-version <version>', help: 'Kubernetes version for the control plane', field: 'kubernetesVersion' },
  { flags: '--pod-network-cidr <cidr>', help: 'range of IP addresses for the pod network', field: 'networking.podSubnet' },
  { flags: '--service-cidr <cidr>', help: 'range of IP addresses for service VIPs (default 10.96.0.0/12)', field: 'networking.serviceSubnet' },
  { flags: '--service-dns-domain <domain>', help: 'DNS domain for services (default cluster.local)', field: 'networking.dnsDomain' },
  {
    flags: '--apiserver-cert-extra-sans <sans>',
    help: 'comma-separated extra SANs (IPs or DNS names) for the API server certificate',
    field: 'apiServer.certSANs',
  },
  { flags: '--cert-dir <dir>', help: 'where to save and read certificates (default /etc/kubernetes/pki)', field: 'certificatesDir' },
  { flags: '--node-name <name>', help: 'name of this node (default: the host name)', field: 'nodeRegistration.name' },
  { flags: '--image-repository <repo>', help: 'registry to pull control-plane images from (default registry.k8s.io)', field: 'imageRepository' },
  { flags: '--cri-socket <endpoint>', help: 'CRI socket to connect to', field: 'nodeRegistration.criSocket' },
  {
    flags: '--ignore-preflight-errors <checks>',
    help: 'comma-separated preflight checks whose errors become warnings, or "all"',
    field: 'nodeRegistration.ignorePreflightErrors',
  },
  { flags: '--skip-phases <phases>', help: 'comma-separated phases to skip (e.g. addon,certs/etcd-ca)', field: 'skipPhases' },
  { flags: '--dry-run', help: 'print what would be done and written; change nothing' },
  { flags: '--rootfs <dir>', help: 'put every host path (/etc/kubernetes, /var/lib/etcd, ...) under this directory' },
  { flags: '--runtime <runtime>', help: 'how the agent runs pods: cri or process (default: cri when a CRI socket answers)' },
  { flags: '--upload-certs', help: 'upload control-plane certificates to the kubeadm-certs Secret' },
  { flags: '--certificate-key <key>', help: 'key (64 hex characters) that encrypts the kubeadm-certs Secret', field: 'certificateKey' },
  { flags: '--token <token>', help: 'bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})', field: 'bootstrapTokens[0].token' },
  { flags: '--token-ttl <duration>', help: 'bootstrap token lifetime (default 24h0m0s)', field: 'bootstrapTokens[0].ttl' },
  {
    flags: '--node-local-lb',
    help: 'kubestrap only: add 127.0.0.1 and localhost to apiServer.certSANs, so nodes that join with --node-local-lb reach the API through 127.0.0.1',
    field: 'apiServer.certSANs',
  },
];
