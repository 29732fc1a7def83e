/**
 * The node client certificate request, as the kubelet makes it (pkg/kubelet/certificate/bootstrap
 * requestNodeCertificate, client-go util/certificate): an ECDSA P-256 key, a PKCS#10 request with
 * subject O=system:nodes, CN=system:node:<node> and no extensions, signer
 * kubernetes.io/kube-apiserver-client-kubelet, usages digital signature + client auth (+ key
 * encipherment for an RSA key). The first request is named by a digest of key, subject and usages
 * (`node-csr-…`, so a restarted bootstrap finds its own request again); rotations use generateName
 * `csr-`.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { V1CertificateSigningRequest } from '@kubernetes/client-node';
import { createCsr } from '../../pki/csr.js';
import { publicKeyDer } from '../../pki/keys.js';

/** certificatesv1.KubeAPIServerClientKubeletSignerName. */
export const NODE_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const NODES_GROUP = 'system:nodes';
export const nodeUser = (nodeName: string): string => `system:node:${nodeName}`;

export type KeyUsage = 'digital signature' | 'client auth' | 'key encipherment';

/** The kubelet's DefaultKubeletClientGetUsages. */
export function nodeClientUsages(key: KeyObject): KeyUsage[] {
  const usages: KeyUsage[] = ['digital signature', 'client auth'];
  if (key.asymmetricKeyType === 'rsa') usages.push('key encipherment');
  return usages;
}

export interface NodeSubject {
  commonName: string;
  organization: string[];
}

export const nodeSubject = (nodeName: string): NodeSubject => ({ commonName: nodeUser(nodeName), organization: [NODES_GROUP] });

/**
 * bootstrap.go digestedName: SHA-512/256 over base64url(no padding) of the PKIX public key, the CN,
 * each O and each usage, every part followed by `|` (not in the alphabet, so parts cannot run
 * into each other).
 */
export function digestedName(key: KeyObject, subject: NodeSubject, usages: readonly string[]): string {
  const hash = createHash('sha512-256');
  const write = (data: Buffer | string): void => {
    hash.update(Buffer.from(data).toString('base64url'));
    hash.update('|');
  };
  write(publicKeyDer(key.type === 'private' ? createPublicKey(key) : key));
  write(subject.commonName);
  for (const o of subject.organization) write(o);
  for (const u of usages) write(u);
  return `node-csr-${hash.digest().toString('base64url')}`;
}

/** The PEM request for this node (no SANs: certutil.MakeCSR(key, subject, nil, nil)). */
export function nodeCsrPem(nodeName: string, key: KeyObject): Promise<string> {
  const subject = nodeSubject(nodeName);
  return createCsr({ commonName: subject.commonName, organization: subject.organization, altNames: { dns: [], ips: [] } }, key);
}

/** The CertificateSigningRequest object; `name` for the bootstrap request, generateName `csr-` for a rotation. */
export function nodeCsrObject(csrPem: string, usages: readonly KeyUsage[], name?: string): V1CertificateSigningRequest {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: name ? { name } : { generateName: 'csr-' },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: NODE_CLIENT_SIGNER, usages: [...usages] },
  };
}
