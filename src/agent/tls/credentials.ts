/**
 * The node's API credentials when the agent bootstraps them (--bootstrap-kubeconfig): the TLS
 * bootstrap in the background (pods do not wait for it), then rotation of the certificate kept in
 * the cert dir. The API side and the kubelet API wait for `ready`, and rebuild their clients on
 * `onRotated`.
 */
import type { X509Certificate } from 'node:crypto';
import { ensureClientCertificate, type TlsBootstrapOptions } from './bootstrap.js';
import { ClientCertStore } from './cert-store.js';
import { ClientCertRotation } from './cert-rotation.js';

/** What the bootstrap needs, without the per-run parts (the signal is the credentials' own). */
export type NodeCredentialsOptions = Omit<TlsBootstrapOptions, 'signal' | 'waitTimeoutMs'>;

export class NodeCredentials {
  private readonly abort = new AbortController();
  private rotation?: ClientCertRotation;
  private readonly listeners = new Set<(cert: X509Certificate) => void | Promise<void>>();
  private running?: Promise<void>;
  private resolveReady!: () => void;
  /** Resolves once the kubeconfig holds a usable client certificate. */
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  constructor(private readonly opts: NodeCredentialsOptions) {}

  start(): void {
    this.running ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.opts.logger.error('node credentials stopped', { error: (err as Error).message });
    });
  }

  /** Subscribes to rotations; returns the unsubscribe function. */
  onRotated(cb: (cert: X509Certificate) => void | Promise<void>): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.rotation?.stop();
    await this.running;
  }

  private async run(): Promise<void> {
    const { host, kubeconfig, certDir } = this.opts;
    await ensureClientCertificate({ ...this.opts, signal: this.abort.signal });
    this.resolveReady();
    if (this.abort.signal.aborted) return;
    // rotation keeps the store's pair fresh; it matters only when kubelet.conf points at the store
    const store = new ClientCertStore(host, certDir);
    const text = (await host.readOptional(kubeconfig))?.toString('utf8') ?? '';
    const ref = /^\s*client-certificate:\s*["']?([^"'\s]+)/m.exec(text)?.[1];
    if (ref !== store.currentPath()) {
      this.opts.logger.info('kubeconfig does not use the cert dir: its certificate is not rotated', { kubeconfig: host.path(kubeconfig) });
      return;
    }
    this.rotation = new ClientCertRotation({
      ...this.opts,
      onRotated: async (cert) => {
        for (const cb of this.listeners) await cb(cert);
      },
    });
    await this.rotation.start();
  }
}
