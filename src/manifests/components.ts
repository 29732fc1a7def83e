/**
 * The four static Pods kubeadm v1.34 writes, as data: flags, probes, ports, resources, volumes and
 * env per component (cmd/kubeadm/app/phases/controlplane/manifests.go, phases/etcd/local.go).
 */
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { ANNOTATION_DEPENDS_ON, ANNOTATION_START_AFTER } from '../agent/index.js';
import { etcdImageTag } from '../config/images.js';
import { KUBECONFIG_FILES, PORTS } from '../constants.js';
import { joinHostPort } from '../net/address.js';
import type { Arg, EnvVar, ResolvedConfig } from '../config/types.js';
import { isLoopbackIP } from '../config/net.js';
import { releaseFor } from '../config/versions.js';
import type { Host } from '../host/host.js';
import { argsToCommand, getArg, setArg } from './args.js';
import { mergeEnvVars, proxyEnvVars } from './env.js';
import { etcdTagAtLeast36 } from './etcd-version.js';
import { livenessProbe, probeHost, readinessProbe, startupProbe } from './probes.js';
import type { ComponentName, ComponentSpec, ControlPlaneComponent, ProbeSpec } from './spec.js';
import { controlPlaneVolumes, type ComponentVolumes } from './volumes.js';

const ETCD_CLIENT_PORT = PORTS.etcdClient;
const ETCD_PEER_PORT = PORTS.etcdPeer;
const ETCD_METRICS_PORT = PORTS.etcdMetrics;
const KUBE_CONTROLLER_MANAGER_PORT = PORTS.controllerManager;
const KUBE_SCHEDULER_PORT = PORTS.scheduler;
/** What kube-apiserver accepts in --authorization-mode; kubeadm drops anything else from extraArgs. */
const AUTHZ_MODES = ['Node', 'RBAC', 'Webhook', 'ABAC', 'AlwaysAllow', 'AlwaysDeny'];
const DEFAULT_AUTHZ_MODES = 'Node,RBAC';

/** Inputs besides the config: the environment for *_proxy variables. */
export interface BuildOptions {
  environment?: Readonly<Record<string, string | undefined>>;
  /** A member joining a running etcd cluster: every member, this one included (kubeadm's CreateStackedEtcdStaticPodManifestFile). */
  etcdInitialCluster?: readonly EtcdPeer[];
}

/** A member of --initial-cluster: name=peerURL. */
export interface EtcdPeer {
  name: string;
  peerURL: string;
}

function localhostFor(config: ResolvedConfig): string {
  return isIPv6(config.advertiseAddress) ? '::1' : '127.0.0.1';
}

export function etcdClientURL(config: ResolvedConfig): string {
  return `https://${joinHostPort(config.advertiseAddress, ETCD_CLIENT_PORT)}`;
}

export function etcdPeerURL(config: ResolvedConfig): string {
  return `https://${joinHostPort(config.advertiseAddress, ETCD_PEER_PORT)}`;
}

/** True in kubeadm's external-CA mode: ca.crt is present but ca.key is not. */
export async function usingExternalCA(config: ResolvedConfig, host: Host): Promise<boolean> {
  const pki = config.cluster.certificatesDir;
  return (await host.exists(path.posix.join(pki, 'ca.crt'))) && !(await host.exists(path.posix.join(pki, 'ca.key')));
}

function authorizationModes(requested: string | undefined): string {
  const valid = (requested ?? '').split(',').filter((m) => AUTHZ_MODES.includes(m));
  return valid.length > 0 ? valid.join(',') : DEFAULT_AUTHZ_MODES;
}

/**
 * A control plane advertised on a loopback address (a one-machine lab) where kube-apiserver would
 * refuse that address for the `kubernetes` Service's endpoints: it then runs without the endpoint
 * reconciler. Pods could not reach a loopback endpoint anyway; kubeadm cannot make such a control
 * plane at all ("unable to select an IP from lo network interface").
 */
export function loopbackWithoutEndpoints(config: ResolvedConfig): boolean {
  return releaseFor(config.cluster.kubernetesVersion).apiserverRefusesLoopbackAdvertise && isLoopbackIP(config.advertiseAddress);
}

export function apiServerCommand(config: ResolvedConfig): string[] {
  const { cluster } = config;
  const pki = (file: string): string => path.posix.join(cluster.certificatesDir, file);
  const args: Arg[] = [
    { name: 'advertise-address', value: config.advertiseAddress },
    { name: 'enable-admission-plugins', value: 'NodeRestriction' },
    { name: 'service-cluster-ip-range', value: cluster.networking.serviceSubnet },
    { name: 'service-account-key-file', value: pki('sa.pub') },
    { name: 'service-account-signing-key-file', value: pki('sa.key') },
    { name: 'service-account-issuer', value: `https://kubernetes.default.svc.${cluster.networking.dnsDomain}` },
    { name: 'client-ca-file', value: pki('ca.crt') },
    { name: 'tls-cert-file', value: pki('apiserver.crt') },
    { name: 'tls-private-key-file', value: pki('apiserver.key') },
    { name: 'kubelet-client-certificate', value: pki('apiserver-kubelet-client.crt') },
    { name: 'kubelet-client-key', value: pki('apiserver-kubelet-client.key') },
    { name: 'enable-bootstrap-token-auth', value: 'true' },
    { name: 'secure-port', value: String(config.bindPort) },
    { name: 'allow-privileged', value: 'true' },
    { name: 'kubelet-preferred-address-types', value: 'InternalIP,ExternalIP,Hostname' },
    // The front proxy (aggregation layer) is always configured: its client cert always exists.
    { name: 'requestheader-username-headers', value: 'X-Remote-User' },
    { name: 'requestheader-group-headers', value: 'X-Remote-Group' },
    { name: 'requestheader-extra-headers-prefix', value: 'X-Remote-Extra-' },
    { name: 'requestheader-client-ca-file', value: pki('front-proxy-ca.crt') },
    { name: 'requestheader-allowed-names', value: 'front-proxy-client' },
    { name: 'proxy-client-cert-file', value: pki('front-proxy-client.crt') },
    { name: 'proxy-client-key-file', value: pki('front-proxy-client.key') },
    // Not kubeadm's: webhooks and aggregated APIs are dialled at their endpoints, not their ClusterIP,
    // because the agent's node runs no kube-proxy (docs/architecture.md, "The control-plane node and
    // API-bound pods"). extraArgs may turn it off.
    { name: 'enable-aggregator-routing', value: 'true' },
  ];
  const external = cluster.etcd.external;
  if (external) {
    setArg(args, 'etcd-servers', external.endpoints.join(','));
    if (external.caFile) setArg(args, 'etcd-cafile', external.caFile);
    if (external.certFile && external.keyFile) {
      setArg(args, 'etcd-certfile', external.certFile);
      setArg(args, 'etcd-keyfile', external.keyFile);
    }
  } else {
    setArg(args, 'etcd-servers', `https://${joinHostPort(localhostFor(config), ETCD_CLIENT_PORT)}`);
    setArg(args, 'etcd-cafile', pki('etcd/ca.crt'));
    setArg(args, 'etcd-certfile', pki('apiserver-etcd-client.crt'));
    setArg(args, 'etcd-keyfile', pki('apiserver-etcd-client.key'));
    // An etcd told to advertise elsewhere is dialled there.
    const advertised = cluster.etcd.local ? getArg(cluster.etcd.local.extraArgs, 'advertise-client-urls') : undefined;
    if (advertised !== undefined) setArg(args, 'etcd-servers', advertised);
  }
  if (loopbackWithoutEndpoints(config)) setArg(args, 'endpoint-reconciler-type', 'none');
  const extra = cluster.apiServer.extraArgs;
  if (getArg(extra, 'authorization-config') === undefined) {
    setArg(args, 'authorization-mode', authorizationModes(getArg(extra, 'authorization-mode')));
  }
  return ['kube-apiserver', ...argsToCommand(args, extra)];
}

/**
 * What kube-controller-manager and kube-scheduler share: a local-only secure port, leader election,
 * and one kubeconfig for talking to the API server and for delegated authn/authz.
 */
function kubeconfigComponentArgs(kubeconfig: string): Arg[] {
  return [
    { name: 'bind-address', value: '127.0.0.1' },
    { name: 'leader-elect', value: 'true' },
    { name: 'kubeconfig', value: kubeconfig },
    { name: 'authentication-kubeconfig', value: kubeconfig },
    { name: 'authorization-kubeconfig', value: kubeconfig },
  ];
}

export function controllerManagerCommand(config: ResolvedConfig, externalCA: boolean): string[] {
  const { cluster } = config;
  const pki = (file: string): string => path.posix.join(cluster.certificatesDir, file);
  const args: Arg[] = [
    ...kubeconfigComponentArgs(path.posix.join(config.paths.kubernetesDir, KUBECONFIG_FILES.controllerManager)),
    { name: 'client-ca-file', value: pki('ca.crt') },
    { name: 'requestheader-client-ca-file', value: pki('front-proxy-ca.crt') },
    { name: 'root-ca-file', value: pki('ca.crt') },
    { name: 'service-account-private-key-file', value: pki('sa.key') },
    { name: 'cluster-signing-cert-file', value: pki('ca.crt') },
    { name: 'cluster-signing-key-file', value: pki('ca.key') },
    { name: 'use-service-account-credentials', value: 'true' },
    { name: 'controllers', value: '*,bootstrapsigner,tokencleaner' },
  ];
  if (externalCA) {
    // Empty paths make the csrsigning controller fail to start instead of signing without a key.
    setArg(args, 'cluster-signing-key-file', '');
    setArg(args, 'cluster-signing-cert-file', '');
  }
  const { podSubnet, serviceSubnet } = cluster.networking;
  if (podSubnet) {
    setArg(args, 'allocate-node-cidrs', 'true');
    setArg(args, 'cluster-cidr', podSubnet);
    if (serviceSubnet) setArg(args, 'service-cluster-ip-range', serviceSubnet);
  }
  if (cluster.clusterName) setArg(args, 'cluster-name', cluster.clusterName);
  return ['kube-controller-manager', ...argsToCommand(args, cluster.controllerManager.extraArgs)];
}

export function schedulerCommand(config: ResolvedConfig): string[] {
  const args = kubeconfigComponentArgs(path.posix.join(config.paths.kubernetesDir, KUBECONFIG_FILES.scheduler));
  return ['kube-scheduler', ...argsToCommand(args, config.cluster.scheduler.extraArgs)];
}

export function etcdCommand(config: ResolvedConfig, initialCluster?: readonly EtcdPeer[]): string[] {
  const { cluster } = config;
  const local = cluster.etcd.local;
  if (!local) throw new Error('etcdCommand: the configuration has no local etcd');
  const pki = (file: string): string => path.posix.join(cluster.certificatesDir, file);
  const localhost = localhostFor(config);
  const args: Arg[] = [
    { name: 'name', value: config.nodeName },
    {
      name: 'listen-client-urls',
      value: `https://${joinHostPort(localhost, ETCD_CLIENT_PORT)},${etcdClientURL(config)}`,
    },
    { name: 'advertise-client-urls', value: etcdClientURL(config) },
    { name: 'listen-peer-urls', value: etcdPeerURL(config) },
    { name: 'initial-advertise-peer-urls', value: etcdPeerURL(config) },
    { name: 'data-dir', value: local.dataDir },
    { name: 'cert-file', value: pki('etcd/server.crt') },
    { name: 'key-file', value: pki('etcd/server.key') },
    { name: 'trusted-ca-file', value: pki('etcd/ca.crt') },
    { name: 'client-cert-auth', value: 'true' },
    { name: 'peer-cert-file', value: pki('etcd/peer.crt') },
    { name: 'peer-key-file', value: pki('etcd/peer.key') },
    { name: 'peer-trusted-ca-file', value: pki('etcd/ca.crt') },
    { name: 'peer-client-cert-auth', value: 'true' },
    { name: 'snapshot-count', value: '10000' },
    { name: 'listen-metrics-urls', value: `http://${joinHostPort(localhost, ETCD_METRICS_PORT)}` },
  ];
  if (etcdTagAtLeast36(etcdImageTag(cluster))) {
    args.push({ name: 'feature-gates', value: 'InitialCorruptCheck=true' }, { name: 'watch-progress-notify-interval', value: '5s' });
  } else {
    args.push({ name: 'experimental-initial-corrupt-check', value: 'true' }, { name: 'experimental-watch-progress-notify-interval', value: '5s' });
  }
  // init creates a one-member cluster; a joining member lists every member and joins the existing cluster
  if (initialCluster) {
    setArg(args, 'initial-cluster', initialCluster.map((m) => `${m.name}=${m.peerURL}`).join(','));
    setArg(args, 'initial-cluster-state', 'existing');
  } else setArg(args, 'initial-cluster', `${config.nodeName}=${etcdPeerURL(config)}`);
  return ['etcd', ...argsToCommand(args, local.extraArgs)];
}

/** Where the etcd probes go: the first --listen-metrics-urls extraArg, else http://127.0.0.1:2381. */
export function etcdProbeEndpoint(config: ResolvedConfig): { host: string; port: number; scheme: 'HTTP' | 'HTTPS' } {
  const fallback = { host: localhostFor(config), port: ETCD_METRICS_PORT, scheme: 'HTTP' as const };
  const urls = config.cluster.etcd.local ? getArg(config.cluster.etcd.local.extraArgs, 'listen-metrics-urls') : undefined;
  if (urls === undefined) return fallback;
  let url: URL;
  try {
    url = new URL(urls.split(',')[0]!);
  } catch {
    return fallback;
  }
  const portNumber = Number(url.port);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || fallback.host,
    port: Number.isInteger(portNumber) && portNumber >= 1 && portNumber <= 65535 ? portNumber : ETCD_METRICS_PORT,
    scheme: url.protocol === 'https:' ? 'HTTPS' : 'HTTP',
  };
}

function httpProbes(
  config: ResolvedConfig,
  host: string,
  scheme: ProbeSpec['scheme'],
  paths: { liveness: string; readiness: string | null; startup: string },
): Pick<ComponentSpec, 'livenessProbe' | 'readinessProbe' | 'startupProbe'> {
  const timeout = config.timeoutsMs.controlPlaneComponentHealthCheck;
  return {
    livenessProbe: livenessProbe({ host, path: paths.liveness, scheme }),
    readinessProbe: paths.readiness === null ? null : readinessProbe({ host, path: paths.readiness, scheme }),
    startupProbe: startupProbe({ host, path: paths.startup, scheme }, timeout),
  };
}

function bindAddressProbeHost(extraArgs: readonly Arg[]): string {
  const bind = getArg(extraArgs, 'bind-address');
  return bind === undefined ? '127.0.0.1' : probeHost(bind);
}

interface BuildContext {
  config: ResolvedConfig;
  etcdInitialCluster?: readonly EtcdPeer[];
  volumes: Record<ControlPlaneComponent, ComponentVolumes>;
  externalCA: boolean;
  proxyEnv: EnvVar[];
}

type Builder = (b: BuildContext) => ComponentSpec;

/**
 * kubestrap's start-order annotations (src/agent/start-order.ts): the controller-manager and the
 * scheduler start once the API server is live (before, they would only take CPU from its start-up
 * to retry it); the API server depends on local etcd without waiting for it (it does its own
 * start-up work meanwhile); stops go in the reverse order. A kubelet ignores them.
 */
const START_AFTER = ANNOTATION_START_AFTER;
const DEPENDS_ON = ANNOTATION_DEPENDS_ON;

function apiServerLivezURL(config: ResolvedConfig): string {
  const host = (config.advertiseAddress && probeHost(config.advertiseAddress)) || localhostFor(config);
  return `https://${joinHostPort(host, config.bindPort)}/livez`;
}

function etcdReadyzURL(config: ResolvedConfig): string {
  const probe = etcdProbeEndpoint(config);
  return `${probe.scheme.toLowerCase()}://${joinHostPort(probe.host || localhostFor(config), probe.port)}/readyz`;
}

const common = (config: ResolvedConfig) => ({ imagePullPolicy: config.init.nodeRegistration.imagePullPolicy });

/** One builder per component: the table kubeadm's GetStaticPodSpecs / GetEtcdPodSpec encode. */
const BUILDERS: Record<ComponentName, Builder> = {
  etcd: ({ config, etcdInitialCluster }) => {
    const local = config.cluster.etcd.local!;
    const certsDir = `${config.cluster.certificatesDir}/etcd`;
    const probe = etcdProbeEndpoint(config);
    return {
      component: 'etcd',
      ...common(config),
      annotations: [{ key: 'kubeadm.kubernetes.io/etcd.advertise-client-urls', value: etcdClientURL(config) }],
      image: config.images.etcd,
      command: etcdCommand(config, etcdInitialCluster),
      // etcd gets no *_proxy variables: it never dials out through a proxy.
      env: mergeEnvVars(local.extraEnvs),
      probePort: probe.port,
      ...httpProbes(config, probe.host, probe.scheme, { liveness: '/livez', readiness: '/readyz', startup: '/readyz' }),
      requests: { cpu: '100m', memory: '100Mi' },
      volumes: [
        { name: 'etcd-certs', hostPath: certsDir, type: 'DirectoryOrCreate' },
        { name: 'etcd-data', hostPath: local.dataDir, type: 'DirectoryOrCreate' },
      ],
      // kubeadm lists these two unsorted, data first; both read-write.
      volumeMounts: [
        { name: 'etcd-data', mountPath: local.dataDir, readOnly: false },
        { name: 'etcd-certs', mountPath: certsDir, readOnly: false },
      ],
    };
  },
  'kube-apiserver': ({ config, volumes, proxyEnv }) => ({
    component: 'kube-apiserver',
    ...common(config),
    annotations: [
      {
        key: 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint',
        value: joinHostPort(config.advertiseAddress, config.bindPort),
      },
      ...(config.cluster.etcd.local ? [{ key: DEPENDS_ON, value: etcdReadyzURL(config) }] : []),
    ],
    image: config.images.kubeApiserver,
    command: apiServerCommand(config),
    env: mergeEnvVars(proxyEnv, config.cluster.apiServer.extraEnvs),
    probePort: config.bindPort,
    ...httpProbes(config, config.advertiseAddress ? probeHost(config.advertiseAddress) : '127.0.0.1', 'HTTPS', {
      liveness: '/livez',
      readiness: '/readyz',
      startup: '/livez',
    }),
    requests: { cpu: '250m', memory: null },
    ...volumes['kube-apiserver'],
  }),
  'kube-controller-manager': ({ config, volumes, proxyEnv, externalCA }) => ({
    component: 'kube-controller-manager',
    ...common(config),
    annotations: [{ key: START_AFTER, value: apiServerLivezURL(config) }],
    image: config.images.kubeControllerManager,
    command: controllerManagerCommand(config, externalCA),
    env: mergeEnvVars(proxyEnv, config.cluster.controllerManager.extraEnvs),
    probePort: KUBE_CONTROLLER_MANAGER_PORT,
    // v1.34 still probes the controller-manager on /healthz and has no readiness probe.
    ...httpProbes(config, bindAddressProbeHost(config.cluster.controllerManager.extraArgs), 'HTTPS', {
      liveness: '/healthz',
      readiness: null,
      startup: '/healthz',
    }),
    requests: { cpu: '200m', memory: null },
    ...volumes['kube-controller-manager'],
  }),
  'kube-scheduler': ({ config, volumes, proxyEnv }) => ({
    component: 'kube-scheduler',
    ...common(config),
    annotations: [{ key: START_AFTER, value: apiServerLivezURL(config) }],
    image: config.images.kubeScheduler,
    command: schedulerCommand(config),
    env: mergeEnvVars(proxyEnv, config.cluster.scheduler.extraEnvs),
    probePort: KUBE_SCHEDULER_PORT,
    ...httpProbes(config, bindAddressProbeHost(config.cluster.scheduler.extraArgs), 'HTTPS', {
      liveness: '/livez',
      readiness: '/readyz',
      startup: '/livez',
    }),
    requests: { cpu: '100m', memory: null },
    ...volumes['kube-scheduler'],
  }),
};

/**
 * The finished values of the requested components' Pods. Reads the host only to see which optional
 * CA directories exist and whether the CA key is absent (external CA mode).
 */
export async function buildComponentSpecs(
  config: ResolvedConfig,
  host: Host,
  components: readonly ComponentName[],
  options: BuildOptions = {},
): Promise<Map<ComponentName, ComponentSpec>> {
  if (components.includes('etcd') && !config.cluster.etcd.local) {
    throw new Error('buildComponentSpecs: etcd was requested but the configuration uses external etcd');
  }
  const ctx: BuildContext = {
    config,
    volumes: await controlPlaneVolumes(config, host),
    externalCA: await usingExternalCA(config, host),
    proxyEnv: proxyEnvVars(options.environment ?? process.env),
    etcdInitialCluster: options.etcdInitialCluster,
  };
  return new Map(components.map((c) => [c, BUILDERS[c](ctx)]));
}
