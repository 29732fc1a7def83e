/**
 * The CertificateSigningRequest round trip of client-go util/certificate/csr: create the request
 * (an existing one of the same digested name is reused when it is ours), then watch it until it is
 * issued, denied, failed or deleted. A watch without a resourceVersion starts with the request's
 * current state, so nothing between the create and the watch is missed; a watch that closes is
 * opened again. No fixed sleeps: the answer arrives as the controller-manager writes it.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import type { V1CertificateSigningRequest } from '@kubernetes/client-node';
import { HostError } from '../../errors.js';
import { CertificatesV1Api, Watch } from '../../kube/client-node.js';
import type { KubeClient } from '../../kube/client.js';
import { apiErrorMessage, isAlreadyExists } from '../../kube/errors.js';
import { publicKeyDer } from '../../pki/keys.js';
import { NODE_CLIENT_SIGNER, NODES_GROUP, nodeUser } from './node-csr.js';

/** A request the cluster answered with no certificate we can use: one line naming the CSR and what to do. */
export class CsrError extends HostError {}

export interface CreatedCsr {
  name: string;
  uid: string;
}

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

/** Creates the request; an AlreadyExists of a named request is fine when it carries our key and signer. */
export async function createCsr(client: KubeClient, body: V1CertificateSigningRequest, key: KeyObject): Promise<CreatedCsr> {
  const api = client.kc.makeApiClient(CertificatesV1Api);
  try {
    const created = await api.createCertificateSigningRequest({ body });
    return { name: created.metadata!.name!, uid: created.metadata!.uid! };
  } catch (err) {
    const name = body.metadata?.name;
    if (!name || !isAlreadyExists(err)) throw err;
    const existing = await api.readCertificateSigningRequest({ name });
    const why = incompatible(existing, body, key);
    if (why) throw new CsrError(`certificate signing request ${name} exists and is not ours: ${why}`, { hint: `delete it: kubectl delete csr ${name}` });
    return { name, uid: existing.metadata!.uid! };
  }
}

function incompatible(existing: V1CertificateSigningRequest, wanted: V1CertificateSigningRequest, key: KeyObject): string | undefined {
  if (existing.spec.signerName !== wanted.spec.signerName) return `its signer is ${existing.spec.signerName}, not ${wanted.spec.signerName}`;
  if (existing.spec.request !== wanted.spec.request) {
    // same digest, different bytes (ECDSA signatures are randomised): compare the public key instead
    const pem = Buffer.from(existing.spec.request, 'base64').toString('utf8');
    if (!csrCarriesKey(pem, key)) return 'it is for another key';
  }
  return undefined;
}

/** Whether a PEM CSR's SubjectPublicKeyInfo is `key`'s (looked up as DER bytes inside the request). */
function csrCarriesKey(pem: string, key: KeyObject): boolean {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return der.includes(publicKeyDer(createPublicKey(key)));
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called once when the request is approved but not yet signed. */
  onApproved?: () => void;
}

type Condition = { type: string; reason?: string; message?: string };

/** Why a request's conditions end the wait, or undefined to keep waiting. */
export function csrVerdict(csr: V1CertificateSigningRequest): { issued?: string; error?: string; approved: boolean } {
  const conditions: Condition[] = csr.status?.conditions ?? [];
  const said = (c: Condition): string => [c.reason && `reason ${c.reason}`, c.message].filter(Boolean).join(': ') || 'no reason given';
  const denied = conditions.find((c) => c.type === 'Denied');
  if (denied) return { approved: false, error: `was denied (${said(denied)})` };
  const failed = conditions.find((c) => c.type === 'Failed');
  if (failed) return { approved: false, error: `failed (${said(failed)})` };
  const approved = conditions.some((c) => c.type === 'Approved');
  const cert = csr.status?.certificate;
  if (approved && cert) return { approved, issued: Buffer.from(cert, 'base64').toString('utf8') };
  return { approved };
}

/** Watches the request until its certificate is issued (resolves to the PEM) or the cluster says no. */
export function waitForCertificate(client: KubeClient, csr: CreatedCsr, opts: WaitOptions): Promise<string> {
  const watch = new Watch(client.kc);
  return new Promise<string>((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    let approved = false;
    let lastWatchError = '';
    const finish = (err: Error | undefined, pem?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      controller?.abort();
      if (err) reject(err);
      else resolve(pem!);
    };
    const onAbort = (): void => finish(new CsrError('stopped while waiting for the certificate'));
    const timer = setTimeout(() => {
      const state = approved
        ? 'is approved but no certificate was issued: is the controller-manager running with --cluster-signing-cert-file?'
        : `is not approved: approve it (kubectl certificate approve ${csr.name}) or check that the controller-manager runs and the kubeadm:node-autoapprove-bootstrap binding exists`;
      finish(
        new CsrError(
          `certificate signing request ${csr.name} ${state} (waited ${Math.round(opts.timeoutMs / 1000)} s${lastWatchError ? `; last watch error: ${lastWatchError}` : ''})`,
        ),
      );
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort);
    const onEvent = (phase: string, obj: V1CertificateSigningRequest): void => {
      if (phase === 'DELETED') return finish(new CsrError(`certificate signing request ${csr.name} was deleted before a certificate was issued`));
      if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
      if (obj.metadata?.uid !== csr.uid) return finish(new CsrError(`certificate signing request ${csr.name} was replaced by another one (its UID changed)`));
      const verdict = csrVerdict(obj);
      if (verdict.error)
        return finish(
          new CsrError(`certificate signing request ${csr.name} ${verdict.error}`, { hint: `kubectl delete csr ${csr.name} lets the node ask anew` }),
        );
      if (verdict.issued) return finish(undefined, verdict.issued);
      if (verdict.approved && !approved) {
        approved = true;
        opts.onApproved?.();
      }
    };
    const open = (): void => {
      if (settled) return;
      watch
        .watch(CSR_PATH, { fieldSelector: `metadata.name=${csr.name}` }, onEvent, (err: unknown) => {
          if (err) lastWatchError = apiErrorMessage(err);
          if (!settled) setTimeout(open, err ? 1000 : 0).unref();
        })
        .then((ac) => {
          controller = ac;
          if (settled) ac.abort();
        })
        .catch((err: unknown) => {
          lastWatchError = apiErrorMessage(err);
          if (!settled) setTimeout(open, 1000).unref();
        });
    };
    open();
  });
}

/**
 * Checks the issued certificate is the one asked for: our key, the node's CN and group, client
 * auth, valid now, and (with `caPem`) signed by the cluster CA the bootstrap kubeconfig trusts —
 * a certificate from another signer would be refused by the API server at every request.
 */
export function checkIssued(certPem: string, key: KeyObject, nodeName: string, caPem: string | undefined, csrName: string): X509Certificate {
  const fail = (what: string, hint?: string): never => {
    throw new CsrError(`the certificate issued for ${csrName} ${what}`, { hint });
  };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return fail('is not a PEM certificate');
  }
  if (!cert.checkPrivateKey(key)) fail('is for another key');
  const subject = cert.subject.split('\n');
  if (!subject.includes(`CN=${nodeUser(nodeName)}`) || !subject.includes(`O=${NODES_GROUP}`))
    fail(`has subject "${cert.subject.replace(/\n/g, ', ')}", not O=${NODES_GROUP}, CN=${nodeUser(nodeName)}`);
  if (cert.keyUsage && !cert.keyUsage.includes('1.3.6.1.5.5.7.3.2')) fail('is not for client authentication');
  const now = Date.now();
  if (new Date(cert.validTo).getTime() <= now) fail(`expired at ${cert.validTo}`);
  if (caPem) {
    let ca: X509Certificate | undefined;
    try {
      ca = new X509Certificate(caPem);
    } catch {
      ca = undefined;
    }
    if (ca && !(cert.checkIssued(ca) && cert.verify(ca.publicKey)))
      fail(
        `is signed by "${cert.issuer.replace(/\n/g, ', ')}", not by the cluster CA "${ca.subject.replace(/\n/g, ', ')}"`,
        `the controller-manager signs ${NODE_CLIENT_SIGNER} with --cluster-signing-cert-file, which must be the cluster CA`,
      );
  }
  return cert;
}
