/**
 * The data of one `kubestrap join` run (kubeadm's JoinData): the resolved JoinConfiguration, the
 * host, the printer, and lazy, memoised services: discovery (done when a phase first needs the
 * cluster, once), the TLS bootstrap credentials, and what is read from the cluster with them.
 * A control-plane join adds `ControlPlaneJoinData`: init's phases' view of the same run, over the
 * ResolvedConfig built from the cluster's ClusterConfiguration (config/join-control-plane.ts).
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { ResolvedJoin } from '../../config/join.js';
import type { Host } from '../../host/host.js';
import type { LoadedKubeconfig } from '../../kubeconfig/load.js';
import { controlPlaneJoinConfig } from '../../config/join-control-plane.js';
import type { ResolvedConfig } from '../../config/types.js';
import { PORTS } from '../../constants.js';
import { etcdClient, type EtcdClient, type EtcdTls } from '../../etcd/client.js';
import type { Connect } from '../../etcd/members.js';
import { readEtcdTls } from '../../etcd/tls.js';
import { HostError, messageOf } from '../../errors.js';
import { kubeClientFromString, type KubeClient } from '../../kube/client.js';
import { etcdEndpointsFromPods } from '../../kube/etcd-endpoints.js';
import { PkiSession } from '../../pki/session.js';
import { sharedCertsPlace, type SharedCertsPlace } from '../copycerts.js';
import { adminClientMemo, type AdminClientData, type PkiData, type RuntimeData, type RuntimeDecision } from '../data.js';
import { decideRuntime } from '../runtime-choice.js';
import { apiServerVersion, kubeSystemConfigMapText, kubeSystemConfigMapYaml } from '../../kube/join-cluster.js';
import { discoverFromFile, discoverWithToken, type DiscoveredCluster } from '../../kube/join-discovery.js';
import type { Printer } from '../../output.js';
import { realSystemctl, systemdRuns, type Systemctl } from '../node-service.js';
import { BOOTSTRAP_CLUSTER_NAME, bootstrapKubeconfig, TLS_BOOTSTRAP_USER } from '../kubelet-files.js';

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
  private clusterText?: Promise<string>;
  private controlPlaneData?: Promise<ControlPlaneJoinData>;
  private bootstrap?: Promise<KubeClient>;

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

  /** Whether this node joins as a control-plane instance (--control-plane, or controlPlane in the JoinConfiguration). */
  get controlPlaneJoin(): boolean {
    return this.config.join.controlPlane !== undefined;
  }

  /** The cluster's ClusterConfiguration as stored in kubeadm-config (read with the bootstrap token). */
  clusterConfigurationText(): Promise<string> {
    return (this.clusterText ??= (async () =>
      kubeSystemConfigMapText(await this.bootstrapCredentials(), KUBEADM_CONFIG_CM, 'ClusterConfiguration', this.config.timeoutsMs.kubernetesAPICall))());
  }

  /** The version the cluster's API server (the join endpoint) serves. */
  async servingVersion(): Promise<string> {
    return apiServerVersion(await this.bootstrapCredentials(), this.config.timeoutsMs.kubernetesAPICall);
  }

  /** A typed client with the bootstrap token (download-certs reads kubeadm-certs with it, as kubeadm's bootstrapClient). */
  bootstrapClient(): Promise<KubeClient> {
    return (this.bootstrap ??= (async () =>
      kubeClientFromString(bootstrapKubeconfig(await this.discovery(), this.config.join.discovery.tlsBootstrapToken), 'bootstrap-kubelet.conf'))());
  }

  /**
   * A control-plane join's data for init's phases: the cluster's ClusterConfiguration with this
   * node's endpoint and registration (kubeadm's InitCfg), read once, when a phase first needs it.
   */
  controlPlane(): Promise<ControlPlaneJoinData> {
    return (this.controlPlaneData ??= (async () =>
      new ControlPlaneJoinData(this, controlPlaneJoinConfig(this.config, await this.clusterConfigurationText())))());
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

/** A client on a member of the cluster's etcd, and how to reach the others (same TLS). */
export interface ClusterEtcd {
  client: EtcdClient;
  connect: Connect;
  endpoints: string[];
}

export class ControlPlaneJoinData implements PkiData, AdminClientData, RuntimeData {
  private pkiSession?: PkiSession;
  private readonly admin = adminClientMemo(this);
  private runtimeDecision?: Promise<RuntimeDecision>;

  constructor(
    readonly join: JoinData,
    readonly config: ResolvedConfig,
  ) {}

  get host(): Host {
    return this.join.host;
  }
  get out(): Printer {
    return this.join.out;
  }
  get dryRun(): boolean {
    return this.join.dryRun;
  }

  /** The certificate key of --certificate-key / controlPlane.certificateKey ('' = manual mode). */
  certificateKey(): string {
    return this.config.init.certificateKey ?? '';
  }

  sharedCertsPlace(): SharedCertsPlace {
    return sharedCertsPlace(this.config);
  }

  pki(): PkiSession {
    return (this.pkiSession ??= new PkiSession(this.host, this.config));
  }

  /** admin.conf of this node (the kubeconfig phase wrote it); kubeadm:cluster-admins is bound since init. */
  adminClient(): Promise<KubeClient> {
    return this.admin.get();
  }

  runtime(): Promise<RuntimeDecision> {
    return (this.runtimeDecision ??= decideRuntime(this.config, this.join.config.runtime));
  }

  /** etcd's CA and this node's healthcheck client (the certs phase made it), for etcd's API. */
  etcdTls(): Promise<EtcdTls> {
    return readEtcdTls(this.host, this.config.paths.pkiDir);
  }

  /**
   * A client on the cluster's etcd: the endpoints the etcd pods announce (read with admin.conf),
   * the first that answers MemberList. The caller closes it.
   */
  async clusterEtcd(): Promise<ClusterEtcd> {
    const timeoutMs = this.config.timeoutsMs.etcdAPICall;
    const endpoints = await etcdEndpointsFromPods(await this.adminClient(), this.config.timeoutsMs.kubernetesAPICall);
    const tls = await this.etcdTls();
    // short: a member that has not caught up accepts connections but answers nothing until ready
    const connect: Connect = (endpoint) => etcdClient(endpoint, tls, { timeoutMs: Math.min(timeoutMs, 2000) });
    const problems: string[] = [];
    for (const endpoint of endpoints) {
      const client = etcdClient(endpoint, tls, { timeoutMs: Math.min(timeoutMs, 10_000) });
      try {
        await client.memberList();
        return { client, connect, endpoints };
      } catch (err) {
        client.close();
        problems.push(messageOf(err));
      }
    }
    throw new HostError(`no etcd member answers at ${endpoints.join(', ')}: ${problems.join('; ')}`, {
      hint: `is etcd running on the control-plane nodes, and does this node reach their port ${PORTS.etcdClient}?`,
    });
  }
}
