/**
 * kubeadm's `encryptionAlgorithm` values mapped to what node:crypto generates and what WebCrypto signs
 * with. The signature hash follows the SIGNER's key, as Go's x509.CreateCertificate picks it:
 * RSA → SHA256WithRSA, P-256 → ECDSAWithSHA256, P-384 → ECDSAWithSHA384.
 */
import type { KeyObject, webcrypto } from 'node:crypto';
import type { EncryptionAlgorithm } from '../config/types.js';

export type KeyParams = { type: 'rsa'; modulusLength: 2048 | 3072 | 4096 } | { type: 'ec'; namedCurve: 'P-256' | 'P-384' };

export const KEY_PARAMS: Readonly<Record<EncryptionAlgorithm, KeyParams>> = {
  'RSA-2048': { type: 'rsa', modulusLength: 2048 },
  'RSA-3072': { type: 'rsa', modulusLength: 3072 },
  'RSA-4096': { type: 'rsa', modulusLength: 4096 },
  'ECDSA-P256': { type: 'ec', namedCurve: 'P-256' },
  'ECDSA-P384': { type: 'ec', namedCurve: 'P-384' },
};

/** node:crypto reports curves by their OpenSSL names. */
const CURVES: Readonly<Record<string, { webName: 'P-256' | 'P-384' | 'P-521'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512' }>> = {
  prime256v1: { webName: 'P-256', hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', hash: 'SHA-512' },
};

/** How WebCrypto must import a private key to sign with it, and the signature algorithm it yields. */
export interface SigningParams {
  importParams: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  signParams: webcrypto.Algorithm | webcrypto.EcdsaParams;
}

export function signingParams(key: KeyObject): SigningParams {
  if (key.asymmetricKeyType === 'rsa') {
    return {
      importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      signParams: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (curve) {
      return {
        importParams: { name: 'ECDSA', namedCurve: curve.webName },
        signParams: { name: 'ECDSA', hash: curve.hash } as webcrypto.EcdsaParams,
      };
    }
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** `RSA-2048`, `ECDSA-P256`, ...: how a key is described in messages and tests. */
export function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return `RSA-${key.asymmetricKeyDetails?.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    return `ECDSA-${curve ? curve.webName.replace('-', '') : (key.asymmetricKeyDetails?.namedCurve ?? '?')}`;
  }
  return key.asymmetricKeyType ?? 'unknown';
}
