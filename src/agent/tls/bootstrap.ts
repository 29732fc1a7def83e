/**
 * The kubelet's TLS bootstrap, done by the agent (pkg/kubelet/certificate/bootstrap LoadClientCert):
 * when --kubeconfig is missing or its client certificate is unusable and --bootstrap-kubeconfig is
 * given, request a node client certificate with the bootstrap token, wait for the
 * controller-manager's csrapprover to approve it and its signer to issue it, store the pair in the
 * cert dir and write kubelet.conf pointing at it. Static pods do not wait for this (the kubelet
 * bootstraps in the background too); only the API side does.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { ConfigError, KubestrapError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { kubeClient, type KubeClient } from '../../kube/client.js';
import { apiErrorMessage, statusCode } from '../../kube/errors.js';
import { sleep } from '../../kube/retry.js';
import { loadKubeconfig, type LoadedKubeconfig } from '../../kubeconfig/load.js';
import { privateKeyPem } from '../../pki/keys.js';
import type { Logger } from '../log.js';
import { ClientCertStore } from './cert-store.js';
import { checkIssued, createCsr, CsrError, waitForCertificate, type CreatedCsr } from './csr-api.js';
import { digestedName, nodeClientUsages, nodeCsrObject, nodeCsrPem, nodeSubject } from './node-csr.js';
import { writeNodeKubeconfig } from './node-kubeconfig.js';

/** client-go's certificateWaitTimeout: how long one request waits for approval and signing. */
export const CERTIFICATE_WAIT_MS = 15 * 60_000;
/** The certificate manager's retry pace: 2 s doubling, at most 32 s between attempts. */
export const RETRY_FIRST_MS = 2000;
export const RETRY_MAX_MS = 32_000;

export interface TlsBootstrapOptions {
  host: Host;
  nodeName: string;
  /** Host paths. */
  kubeconfig: string;
  bootstrapKubeconfig: string;
  certDir: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Per request (default CERTIFICATE_WAIT_MS). */
  waitTimeoutMs?: number;
}

/** Why the kubeconfig cannot be used as it is (bootstrap.go isClientConfigStillValid); undefined when it can. */
export async function kubeconfigProblem(host: Host, file: string, now: Date = new Date()): Promise<string | undefined> {
  let kc: LoadedKubeconfig | undefined;
  try {
    kc = await loadKubeconfig(host, file);
  } catch (err) {
    return messageOf(err);
  }
  if (!kc) return 'does not exist';
  if (!kc.clientCertPem) return 'has no client certificate';
  try {
    const cert = new X509Certificate(kc.clientCertPem);
    if (new Date(cert.validTo) <= now) return `its client certificate expired at ${cert.validTo}`;
  } catch (err) {
    return `its client certificate does not parse: ${messageOf(err)}`;
  }
  return undefined;
}

/** The bootstrap kubeconfig, or one clear line when it cannot serve (checked before the agent starts). */
export async function loadBootstrapKubeconfig(host: Host, file: string): Promise<LoadedKubeconfig> {
  const kc = await loadKubeconfig(host, file).catch((err: unknown) => {
    throw err instanceof KubestrapError ? err : new ConfigError(messageOf(err), { cause: err, field: '--bootstrap-kubeconfig', file: host.path(file) });
  });
  if (!kc)
    throw new ConfigError('does not exist', {
      field: '--bootstrap-kubeconfig',
      file: host.path(file),
      hint: 'kubestrap join writes /etc/kubernetes/bootstrap-kubelet.conf',
    });
  if (!kc.token && !kc.clientCertPem)
    throw new ConfigError('has no credentials (token or client certificate)', { field: '--bootstrap-kubeconfig', file: host.path(file) });
  return kc;
}

/** Creates (or finds, when it is ours) the node's digest-named bootstrap request for `key`, with the bootstrap kubeconfig's credentials. */
async function submitBootstrapCsr(host: Host, nodeName: string, bootstrapKubeconfig: string, key: KeyObject): Promise<{ client: KubeClient; csr: CreatedCsr }> {
  const usages = nodeClientUsages(key);
  const name = digestedName(key, nodeSubject(nodeName), usages);
  const client = await kubeClient(bootstrapKubeconfig, host);
  const csr = await createCsr(client, nodeCsrObject(await nodeCsrPem(nodeName, key), usages, name), key);
  return { client, csr };
}

/** One bootstrap attempt; throws CsrError (the cluster said no), ConfigError or an API/transport error. */
export async function bootstrapOnce(opts: TlsBootstrapOptions): Promise<X509Certificate> {
  const { host, nodeName, logger } = opts;
  const bootstrap = await loadBootstrapKubeconfig(host, opts.bootstrapKubeconfig);
  const store = new ClientCertStore(host, opts.certDir);
  const key = await store.bootstrapKey();
  const { client, csr } = await submitBootstrapCsr(host, nodeName, opts.bootstrapKubeconfig, key);
  logger.info('waiting for the client certificate', { csr: csr.name, signer: 'kubernetes.io/kube-apiserver-client-kubelet', user: `system:node:${nodeName}` });
  const pem = await waitForCertificate(client, csr, {
    timeoutMs: opts.waitTimeoutMs ?? CERTIFICATE_WAIT_MS,
    signal: opts.signal,
    onApproved: () => logger.info('certificate signing request approved', { csr: csr.name }),
  });
  const cert = checkIssued(pem, key, nodeName, bootstrap.caPem, csr.name);
  const pair = await store.update(pem, privateKeyPem(key));
  await host.remove(store.tmpKeyPath());
  await writeNodeKubeconfig(host, opts.kubeconfig, { server: bootstrap.server, caPem: bootstrap.caPem, pairFile: pair.file });
  logger.info('TLS bootstrap done', {
    csr: csr.name,
    certificate: host.path(pair.file),
    notAfter: new Date(cert.validTo),
    kubeconfig: host.path(opts.kubeconfig),
  });
  return cert;
}

/**
 * Makes sure the kubeconfig holds a usable client certificate, bootstrapping until it does (or the
 * signal stops it). Every distinct failure is logged once, as one line: a denied or failed request,
 * a certificate from the wrong signer, no approval within the wait, an API server that does not answer.
 */
export async function ensureClientCertificate(opts: TlsBootstrapOptions): Promise<'valid' | 'bootstrapped'> {
  const log = opts.logger.child({ component: 'tls-bootstrap' });
  const problem = await kubeconfigProblem(opts.host, opts.kubeconfig);
  if (problem === undefined) {
    log.info('kubeconfig holds a valid client certificate, no bootstrap needed', { kubeconfig: opts.host.path(opts.kubeconfig) });
    return 'valid';
  }
  log.info('bootstrapping a client certificate', {
    kubeconfig: opts.host.path(opts.kubeconfig),
    because: problem,
    bootstrapKubeconfig: opts.host.path(opts.bootstrapKubeconfig),
  });
  let delay = RETRY_FIRST_MS;
  let last = '';
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      await bootstrapOnce({ ...opts, logger: log });
      return 'bootstrapped';
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const msg = err instanceof KubestrapError ? err.oneLine() : requestFailure(err);
      // the cluster said no (an error); an API server that does not answer yet is only a warning
      if (msg !== last) log[err instanceof CsrError ? 'error' : 'warn'](`TLS bootstrap: ${msg}`, { retryInSeconds: delay / 1000 });
      last = msg;
    }
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

/** What the API server's refusals of the bootstrap credentials mean, by HTTP status. */
const REFUSALS: Readonly<Record<number, string>> = {
  401: 'the API server does not accept the bootstrap token: it is unknown or expired (kubestrap token create makes a new one)',
  403: 'the bootstrap token may not create certificate signing requests: its group needs the system:node-bootstrapper role (init binds it for system:bootstrappers:kubeadm:default-node-token)',
};

/** One line for a failed request: what a refusal means, else the API or transport error. */
export function requestFailure(err: unknown): string {
  const refusal = REFUSALS[statusCode(err) ?? 0];
  return `cannot request a certificate: ${refusal ? `${refusal}; ` : ''}${apiErrorMessage(err)}`;
}
