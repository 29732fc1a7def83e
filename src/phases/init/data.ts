/**
 * The data of one `kubestrap init` run (kubeadm's InitData): the resolved configuration, the host,
 * the printer, and the lazy, memoised services the phases share. Phases see it through the
 * interfaces of phases/data.ts; a phase's own prepare → run hand-over goes through a ScratchSlot.
 */
import type { ResolvedConfig, RuntimeKind } from '../../config/types.js';
import type { Host } from '../../host/host.js';
import type { KubeClient } from '../../kube/client.js';
import { generateCertificateKey } from '../../kube/copycerts.js';
import type { Printer } from '../../output.js';
import { PkiSession } from '../../pki/session.js';
import { adminClientMemo, type AdminClientData, type CertificateKeyData, type PkiData, type RuntimeData, type RuntimeDecision } from '../data.js';
import { decideRuntime } from '../runtime-choice.js';

export interface InitInput<P extends Printer = Printer> {
  config: ResolvedConfig;
  host: Host;
  out: P;
  dryRun: boolean;
  /** `--upload-certs`. */
  uploadCerts: boolean;
  /** `--runtime`; chosen from the host when absent. */
  runtime?: RuntimeKind;
}

export class InitData<P extends Printer = Printer> implements PkiData, AdminClientData, RuntimeData, CertificateKeyData {
  readonly config: ResolvedConfig;
  readonly host: Host;
  /** Writable for tests that swap the printer or turn on --upload-certs after setting up a run. */
  out: P;
  readonly dryRun: boolean;
  uploadCerts: boolean;
  /** `--runtime` as given. */
  readonly forcedRuntime: RuntimeKind | undefined;
  private pkiSession?: PkiSession;
  private readonly admin = adminClientMemo(this);
  private key?: string;
  private runtimeDecision?: Promise<RuntimeDecision>;

  constructor(input: InitInput<P>) {
    this.config = input.config;
    this.host = input.host;
    this.out = input.out;
    this.dryRun = input.dryRun;
    this.uploadCerts = input.uploadCerts;
    this.forcedRuntime = input.runtime;
  }

  pki(): PkiSession {
    return (this.pkiSession ??= new PkiSession(this.host, this.config));
  }

  adminClient(): Promise<KubeClient> {
    return this.admin.get();
  }

  certificateKey(): string {
    return (this.key ??= this.config.init.certificateKey || generateCertificateKey());
  }

  chosenCertificateKey(): string | undefined {
    return this.key;
  }

  runtime(): Promise<RuntimeDecision> {
    return (this.runtimeDecision ??= decideRuntime(this.config, this.forcedRuntime));
  }
}
