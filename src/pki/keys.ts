/**
 * Private keys: generated natively and asynchronously by node:crypto (so many can be made at once on
 * the libuv thread pool), written in the PEM flavours kubeadm writes: PKCS#1 `RSA PRIVATE KEY`,
 * SEC1 `EC PRIVATE KEY`, PKIX `PUBLIC KEY`.
 */
import { createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { EncryptionAlgorithm } from '../config/types.js';
import { KEY_PARAMS } from './algorithms.js';

const generateKeyPairAsync = promisify(generateKeyPairCb);

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export async function generateKeyPair(algorithm: EncryptionAlgorithm): Promise<KeyPair> {
  const params = KEY_PARAMS[algorithm];
  if (params.type === 'rsa') {
    return generateKeyPairAsync('rsa', { modulusLength: params.modulusLength, publicExponent: 0x10001 });
  }
  return generateKeyPairAsync('ec', { namedCurve: params.namedCurve });
}

/** The private key as kubeadm writes it (keyutil.MarshalPrivateKeyToPEM). */
export function privateKeyPem(key: KeyObject): string {
  const type = key.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs1';
  return key.export({ type, format: 'pem' }) as string;
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

/** DER SubjectPublicKeyInfo: what goes into a certificate. */
export function publicKeyDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Parses any PEM private key (PKCS#1, SEC1, PKCS#8); undefined if it is not one. */
export function parsePrivateKey(pem: string | Buffer): KeyObject | undefined {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}

export function parsePublicKey(pem: string | Buffer): KeyObject | undefined {
  try {
    return createPublicKey(pem);
  } catch {
    return undefined;
  }
}

/** Whether two keys are halves of one pair (compares the public parts). */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  const pubA = a.type === 'private' ? createPublicKey(a) : a;
  const pubB = b.type === 'private' ? createPublicKey(b) : b;
  return publicKeyDer(pubA).equals(publicKeyDer(pubB));
}
