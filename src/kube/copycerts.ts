/**
 * kubeadm's upload-certs encryption: each control-plane certificate/key is sealed with AES-256-GCM
 * under the certificate key (32 bytes, shown as 64 hex characters); the stored value is
 * nonce (12 bytes) ‖ ciphertext ‖ tag, no additional data — what `kubeadm join --certificate-key` decrypts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { UPLOAD_CERTS_COMMAND } from '../constants.js';
import { ConfigError, KubestrapError } from '../errors.js';

export { UPLOAD_CERTS_COMMAND };
import type { KubeClient } from './client.js';
import { isNotFound, statusCode } from './errors.js';
import { withRetry } from './retry.js';

/** kube-system/kubeadm-certs: the shared CAs and keys, sealed with the certificate key. */
export const KUBEADM_CERTS_SECRET = 'kubeadm-certs';
const REUPLOAD_HINT = `run \`${UPLOAD_CERTS_COMMAND}\` on a control-plane node and join with the certificate key it prints`;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A new certificate key (`kubeadm certs certificate-key`). */
export function generateCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

function keyBytes(certificateKey: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(certificateKey)) {
    throw new Error('the certificate key must be 64 hexadecimal characters (32 bytes)');
  }
  return Buffer.from(certificateKey, 'hex');
}

export function encryptWithCertificateKey(plain: Buffer | string, certificateKey: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyBytes(certificateKey), nonce);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function decryptWithCertificateKey(sealed: Buffer, certificateKey: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('encrypted data is too short');
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keyBytes(certificateKey), nonce);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

/** The files kubeadm uploads (local etcd), as [secret key, path relative to certificatesDir]. */
export const UPLOADED_CERT_FILES: readonly (readonly [string, string])[] = [
  ['ca.crt', 'ca.crt'],
  ['ca.key', 'ca.key'],
  ['front-proxy-ca.crt', 'front-proxy-ca.crt'],
  ['front-proxy-ca.key', 'front-proxy-ca.key'],
  ['sa.key', 'sa.key'],
  ['sa.pub', 'sa.pub'],
  ['etcd-ca.crt', 'etcd/ca.crt'],
  ['etcd-ca.key', 'etcd/ca.key'],
];

/** Why the certificates could not be downloaded: `gone` (the Secret expired) or `wrong-key`. */
export class CertsSecretError extends KubestrapError {
  constructor(
    readonly reason: 'gone' | 'wrong-key' | 'incomplete',
    message: string,
    cause?: unknown,
  ) {
    super(message, { field: reason === 'wrong-key' ? 'certificateKey' : undefined, hint: REUPLOAD_HINT, cause });
  }
}

/**
 * The sealed entries of kubeadm-certs. A missing Secret is the common case after 2 h: its owner, a
 * bootstrap token with a 2 h TTL, expired and the garbage collector deleted both.
 */
export async function readCertsSecret(client: KubeClient, timeoutMs: number): Promise<Record<string, Buffer>> {
  try {
    const secret = await withRetry(() => client.core.readNamespacedSecret({ namespace: 'kube-system', name: KUBEADM_CERTS_SECRET }), {
      timeoutMs,
      retryIf: (err) => !isNotFound(err) && statusCode(err) !== 403,
      what: `reading Secret kube-system/${KUBEADM_CERTS_SECRET}`,
    });
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  } catch (err) {
    if (isNotFound(err)) {
      throw new CertsSecretError(
        'gone',
        `Secret "${KUBEADM_CERTS_SECRET}" was not found in the "kube-system" Namespace: it is deleted 2 h after the upload (its bootstrap token expires)`,
        err,
      );
    }
    throw err;
  }
}

/**
 * Opens every entry with the certificate key. GCM authenticates each entry, so a key that sealed
 * nothing here fails on the first one ("cipher: message authentication failed" in kubeadm); no
 * partial result is returned. Empty entries (files absent at upload) stay empty.
 */
export function decryptCertsSecret(sealed: Record<string, Buffer>, certificateKey: string): Map<string, Buffer> {
  try {
    keyBytes(certificateKey);
  } catch (err) {
    throw new ConfigError('the certificate key must be 64 hexadecimal characters (32 bytes)', {
      field: 'certificateKey',
      hint: 'use the key `' + UPLOAD_CERTS_COMMAND + '` printed',
      cause: err,
    });
  }
  const out = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(sealed)) {
    if (value.length === 0) {
      out.set(name, value);
      continue;
    }
    try {
      out.set(name, decryptWithCertificateKey(value, certificateKey));
    } catch (err) {
      throw new CertsSecretError(
        'wrong-key',
        `the certificate key does not decrypt Secret "kube-system/${KUBEADM_CERTS_SECRET}" (entry ${name}: message authentication failed): the certificates were uploaded with another key`,
        err,
      );
    }
  }
  return out;
}
