/**
 * What phases may ask of their workflow, as interfaces: kubeadm's InitData/JoinData idea. A phase
 * that several workflows share (certs, kubeconfig, control-plane, the agent) is typed on the
 * narrowest interface it needs, so `join` and `upgrade` reuse it by implementing that interface
 * instead of copying the phase. Services are lazy and memoised by the implementation: the first
 * phase that asks builds them, later ones get the same object.
 */
import type { ResolvedConfig, RuntimeKind } from '../config/types.js';
import type { Host } from '../host/host.js';
import type { KubeClient } from '../kube/client.js';
import { ensureClusterAdmins } from '../kube/cluster-admins.js';
import type { Printer } from '../output.js';
import type { PkiSession } from '../pki/session.js';

/** Every workflow's data. */
export interface PhaseData {
  readonly config: ResolvedConfig;
  readonly host: Host;
  readonly out: Printer;
  readonly dryRun: boolean;
}

/** certs and kubeconfig: one PKI session per run (keys generated in parallel, CAs in memory in a dry run). */
export interface PkiData extends PhaseData {
  pki(): PkiSession;
}

/** Post-API phases: the admin.conf client, with `kubeadm:cluster-admins` ensured once per run. */
export interface AdminClientData extends PhaseData {
  adminClient(): Promise<KubeClient>;
}

/** The agent runtime of this node and why; chosen once, so preflight and the agent phase agree. */
export interface RuntimeDecision {
  kind: RuntimeKind;
  /** For the progress line: `as --runtime says`, `the CRI socket ... exists`, ... */
  why: string;
}

export interface RuntimeData extends PhaseData {
  runtime(): Promise<RuntimeDecision>;
}

/** upload-certs (init) and the certificate download of a control-plane join. */
export interface CertificateKeyData extends PhaseData {
  /** `--upload-certs`. */
  readonly uploadCerts: boolean;
  /** The key of this run: the configured one, else a new one (the same on every call). */
  certificateKey(): string;
  /** The key if certificateKey() was asked in this run (what show-join-command prints). */
  chosenCertificateKey(): string | undefined;
}

/**
 * A service built on first use and shared by later callers; a failure is reported to whoever awaits
 * it and not kept, so the next phase that asks tries again (an API server still starting).
 */
export class RetryingMemo<T> {
  private pending?: Promise<T>;
  constructor(private readonly make: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.pending) {
      const pending = this.make();
      this.pending = pending;
      pending.catch(() => {
        if (this.pending === pending) this.pending = undefined;
      });
    }
    return this.pending;
  }
}

/** admin.conf's client with `kubeadm:cluster-admins` ensured, for a workflow's `adminClient()`. */
export function adminClientMemo(data: Pick<PhaseData, 'config' | 'host'>): RetryingMemo<KubeClient> {
  return new RetryingMemo(() =>
    ensureClusterAdmins({ host: data.host, kubernetesDir: data.config.paths.kubernetesDir, timeoutMs: data.config.timeoutsMs.kubernetesAPICall }),
  );
}
