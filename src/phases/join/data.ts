/**
 * The data of one `kubestrap join` run (kubeadm's JoinData): the resolved JoinConfiguration, the
 * host, the printer, and lazy, memoised services: discovery (done when a phase first needs the
 * cluster, once), the TLS bootstrap credentials, and what is read from the cluster with them.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { ResolvedJoin } from '../../config/join.js';
import type { Host } from '../../host/host.js';
import type { LoadedKubeconfig } from '../../kubeconfig/load.js';
import { kubeSystemConfigMapYaml } from '../../kube/join-cluster.js';
import { discoverFromFile, discoverWithToken, type DiscoveredCluster } from '../../kube/join-discovery.js';
import type { Printer } from '../../output.js';
import { realSystemctl, systemdRuns, type Systemctl } from '../node-service.js';
import { BOOTSTRAP_CLUSTER_NAME, TLS_BOOTSTRAP_USER } from '../kubelet-files.js';

/** kubeadm's kube-system ConfigMaps a joining node reads. */
export const KUBEADM_CONFIG_CM = 'kubeadm-config';
export const KUBELET_CONFIG_CM = 'kubelet-config';
/** The environment variable that names the kubelet binary (else `kubelet` on PATH). */
export const KUBELET_ENV = 'KUBESTRAP_KUBELET';

export interface JoinInput<P extends Printer = Printer> {
  config: ResolvedJoin;
  host: Host;
  out: P;
  dryRun: boolean;
  /** systemctl seam (tests record the calls). */
  systemctl?: Systemctl;
  /** Whether systemd runs this host; detected when absent. */
  systemd?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The first executable `name` on PATH. */
async function onPath(name: string, envPath: string): Promise<string | undefined> {
  for (const dir of envPath.split(':').filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

export class JoinData<P extends Printer = Printer> {
  readonly config: ResolvedJoin;
  readonly host: Host;
  out: P;
  readonly dryRun: boolean;
  readonly systemctl: Systemctl;
  private readonly env: NodeJS.ProcessEnv;
  private readonly forcedSystemd: boolean | undefined;
  private discovered?: Promise<DiscoveredCluster>;
  private version?: Promise<string>;
  private kubeletDoc?: Promise<Record<string, unknown>>;

  constructor(input: JoinInput<P>) {
    this.config = input.config;
    this.host = input.host;
    this.out = input.out;
    this.dryRun = input.dryRun;
    this.systemctl = input.systemctl ?? realSystemctl;
    this.forcedSystemd = input.systemd;
    this.env = input.env ?? process.env;
  }

  /** Discovery, once per run; a failure is not memoised (a later phase run asks again). */
  discovery(): Promise<DiscoveredCluster> {
    if (!this.discovered) {
      const d = this.config.join.discovery;
      const options = { timeoutMs: this.config.timeoutsMs.discovery, progress: (m: string) => this.out.line('discovery', m) };
      const pending = d.file
        ? discoverFromFile(d.file.kubeConfigPath, options)
        : discoverWithToken({ ...d.bootstrapToken!, endpoint: d.bootstrapToken!.apiServerEndpoint }, options);
      this.discovered = pending;
      pending.catch(() => {
        if (this.discovered === pending) this.discovered = undefined;
      });
    }
    return this.discovered;
  }

  /** The TLS bootstrap credentials (what bootstrap-kubelet.conf holds), for reading the cluster. */
  async bootstrapCredentials(): Promise<LoadedKubeconfig> {
    const cluster = await this.discovery();
    const token = this.config.join.discovery.tlsBootstrapToken;
    return {
      file: 'bootstrap-kubelet.conf',
      contextName: `${TLS_BOOTSTRAP_USER}@${BOOTSTRAP_CLUSTER_NAME}`,
      clusterName: BOOTSTRAP_CLUSTER_NAME,
      userName: TLS_BOOTSTRAP_USER,
      server: cluster.server,
      caPem: cluster.caPem,
      ...(token ? { token } : cluster.credentials),
    };
  }

  /** The control plane's Kubernetes version (kubeadm-config's ClusterConfiguration), for the kubelet version skew. */
  controlPlaneVersion(): Promise<string> {
    return (this.version ??= (async () => {
      const doc = await kubeSystemConfigMapYaml(
        await this.bootstrapCredentials(),
        KUBEADM_CONFIG_CM,
        'ClusterConfiguration',
        this.config.timeoutsMs.kubernetesAPICall,
      );
      return String(doc.kubernetesVersion ?? '');
    })());
  }

  /** The cluster's KubeletConfiguration (kube-system/kubelet-config). */
  clusterKubeletConfiguration(): Promise<Record<string, unknown>> {
    return (this.kubeletDoc ??= (async () =>
      kubeSystemConfigMapYaml(await this.bootstrapCredentials(), KUBELET_CONFIG_CM, 'kubelet', this.config.timeoutsMs.kubernetesAPICall))());
  }

  /** The kubelet binary: --kubelet-path, else $KUBESTRAP_KUBELET, else `kubelet` on PATH. */
  async kubeletBinary(): Promise<string | undefined> {
    const given = this.config.kubeletPath ?? this.env[KUBELET_ENV];
    if (given) return given;
    return onPath('kubelet', this.env.PATH ?? '');
  }

  async systemd(): Promise<boolean> {
    return this.forcedSystemd ?? systemdRuns(this.host);
  }

  /** The host name kubeadm compares the node name with (hostname-override). */
  hostname(): string {
    return os.hostname().toLowerCase();
  }
}
