/**
 * kubeadm's upload-certs encryption: each control-plane certificate/key is sealed with AES-256-GCM
 * under the certificate key (32 bytes, shown as 64 hex characters); the stored value is
 * nonce (12 bytes) ‖ ciphertext ‖ tag, no additional data — what `kubeadm join --certificate-key` decrypts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

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
