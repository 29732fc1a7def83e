/**
 * kubeadm's external-CA helper (`certs generate-csr`, pkiutil.NewCSR): a new key and a PKCS#10
 * request per leaf certificate (subject and SANs as init would issue them) and per kubeconfig
 * (a kubeconfig holding only the key, plus `<file>.csr`). The operator's CA signs the requests;
 * the signed `.crt` files (and client-certificate-data) then complete the PKI for `init`.
 */
import 'reflect-metadata';
import { webcrypto, createPublicKey, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { signingParams } from './algorithms.js';
import { publicKeyDer } from './keys.js';
import type { AltNames } from './sans.js';

x509.cryptoProvider.set(webcrypto);

export interface CsrRequest {
  commonName: string;
  organization: readonly string[];
  altNames: AltNames;
}

/** The PEM of a CSR for `req`, signed with `key` (kubeadm's NewCSR: subject + DNS/IP SANs). */
export async function createCsr(req: CsrRequest, key: KeyObject): Promise<string> {
  const params = signingParams(key);
  const privateKey = (await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), params.importParams, false, [
    'sign',
  ])) as webcrypto.CryptoKey;
  const publicKey = (await webcrypto.subtle.importKey('spki', publicKeyDer(createPublicKey(key)), params.importParams, true, [
    'verify',
  ])) as webcrypto.CryptoKey;
  const name: x509.JsonName = [];
  if (req.organization.length) name.push({ O: [...req.organization] });
  name.push({ CN: [req.commonName] });
  const names: x509.JsonGeneralName[] = [
    ...req.altNames.dns.map((value) => ({ type: 'dns' as const, value })),
    ...req.altNames.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: { privateKey, publicKey } as unknown as webcrypto.CryptoKeyPair,
    signingAlgorithm: params.signParams,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [],
  });
  return `${csr.toString('pem')}\n`;
}
