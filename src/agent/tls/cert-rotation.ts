/**
 * Client certificate rotation, as the kubelet's certificate manager does it (client-go
 * util/certificate certificate_manager.go): at a jittered 70–90 % of the current certificate's
 * lifetime a new P-256 key and CSR (generateName `csr-`) go to the API server authenticated with
 * the current certificate (the csrapprover's selfnodeclient rule approves it), the new pair is
 * stored and `current` relinked, and the API clients are rebuilt with it (no restart: pods and
 * the agent keep running). Failures retry at 2 s doubling to 32 s, the manager's pace.
 */
import type { X509Certificate } from 'node:crypto';
import type { Host } from '../../host/host.js';
import { KubestrapError } from '../../errors.js';
import { kubeClient } from '../../kube/client.js';
import { apiErrorMessage } from '../../kube/errors.js';
import { sleep } from '../../kube/retry.js';
import { loadKubeconfig } from '../../kubeconfig/load.js';
import { generateKeyPair, privateKeyPem } from '../../pki/keys.js';
import type { Logger } from '../log.js';
import { CERTIFICATE_WAIT_MS, RETRY_FIRST_MS, RETRY_MAX_MS } from './bootstrap.js';
import { ClientCertStore } from './cert-store.js';
import { checkIssued, createCsr, waitForCertificate } from './csr-api.js';
import { nodeClientUsages, nodeCsrObject, nodeCsrPem } from './node-csr.js';

/**
 * When to rotate: notBefore + lifetime × (0.7 + 0.2 × random), client-go's
 * `wait.Jitter(total, 0.2) - 0.3 × total`, so nodes added together do not rotate together.
 */
export function rotationDeadline(notBefore: Date, notAfter: Date, random: () => number = Math.random): Date {
  const total = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + total * (0.7 + 0.2 * random()));
}

/** The longest setTimeout delay (2^31 − 1 ms ≈ 24.8 days): longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RotationOptions {
  host: Host;
  nodeName: string;
  /** Host paths: kubelet.conf (it points at the store's `current` pair) and the cert dir. */
  kubeconfig: string;
  certDir: string;
  logger: Logger;
  /** The new pair is in place: rebuild the API clients. */
  onRotated: (cert: X509Certificate) => void | Promise<void>;
  random?: () => number;
  waitTimeoutMs?: number;
}

export class ClientCertRotation {
  private readonly log: Logger;
  private readonly store: ClientCertStore;
  private timer?: NodeJS.Timeout;
  private readonly abort = new AbortController();
  private running = false;
  private rotating?: Promise<void>;
  /** When the current certificate is due (for logs and tests). */
  deadline?: Date;

  constructor(private readonly opts: RotationOptions) {
    this.log = opts.logger.child({ component: 'cert-rotation' });
    this.store = new ClientCertStore(opts.host, opts.certDir);
  }

  /** Schedules the next rotation from the stored pair; rotates at once when it is already due. */
  async start(): Promise<void> {
    this.running = true;
    const pair = await this.store.current();
    if (!pair) {
      this.log.warn('no client certificate in the cert dir: nothing to rotate', { file: this.opts.host.path(this.store.currentPath()) });
      return;
    }
    this.schedule(pair.cert);
  }

  stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    clearTimeout(this.timer);
    return this.rotating ?? Promise.resolve();
  }

  private schedule(cert: X509Certificate): void {
    if (!this.running) return;
    this.deadline = rotationDeadline(new Date(cert.validFrom), new Date(cert.validTo), this.opts.random);
    this.log.info('client certificate rotation scheduled', { notAfter: new Date(cert.validTo), rotateAt: this.deadline });
    this.wakeAt(this.deadline, () => this.rotateUntilDone());
  }

  private wakeAt(when: Date, fn: () => void): void {
    const ms = when.getTime() - Date.now();
    if (ms <= 0) return fn();
    this.timer = setTimeout(() => this.wakeAt(when, fn), Math.min(ms, MAX_TIMER_MS));
    this.timer.unref();
  }

  private rotateUntilDone(): void {
    this.rotating = (async () => {
      let delay = RETRY_FIRST_MS;
      let last = '';
      while (this.running) {
        try {
          const cert = await this.rotateOnce();
          this.schedule(cert);
          return;
        } catch (err) {
          if (!this.running) return;
          const msg = err instanceof KubestrapError ? err.oneLine() : apiErrorMessage(err);
          if (msg !== last) this.log.error(`client certificate rotation failed: ${msg}`, { retryInSeconds: delay / 1000 });
          last = msg;
        }
        await sleep(delay, this.abort.signal);
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    })();
  }

  /** One rotation: new key, CSR with the current credentials, wait, store, reload. */
  async rotateOnce(): Promise<X509Certificate> {
    const { host, nodeName } = this.opts;
    const { privateKey } = await generateKeyPair('ECDSA-P256');
    const usages = nodeClientUsages(privateKey);
    const client = await kubeClient(this.opts.kubeconfig, host);
    const ca = (await loadKubeconfig(host, this.opts.kubeconfig))?.caPem;
    const csr = await createCsr(client, nodeCsrObject(await nodeCsrPem(nodeName, privateKey), usages), privateKey);
    this.log.info('rotating the client certificate', { csr: csr.name });
    const pem = await waitForCertificate(client, csr, { timeoutMs: this.opts.waitTimeoutMs ?? CERTIFICATE_WAIT_MS, signal: this.abort.signal });
    const cert = checkIssued(pem, privateKey, nodeName, ca, csr.name);
    const pair = await this.store.update(pem, privateKeyPem(privateKey));
    this.log.info('client certificate rotated', { csr: csr.name, certificate: host.path(pair.file), notAfter: new Date(cert.validTo) });
    await this.opts.onRotated(cert);
    return cert;
  }
}
