/**
 * Building and signing X.509 certificates with @peculiar/x509 on Node's native WebCrypto: the same
 * extensions Go's x509.CreateCertificate gives kubeadm's templates (KeyUsage and BasicConstraints
 * critical, SubjectKeyId on CAs, AuthorityKeyId on leaves), ECDSA included.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { signingParams } from './algorithms.js';
import { publicKeyDer } from './keys.js';
import type { AltNames } from './sans.js';
import type { ExtUsage } from './specs.js';

x509.cryptoProvider.set(webcrypto);

/** What kubeadm backdates NotBefore by, so a slightly slow clock elsewhere still accepts new certs. */
export const CERTIFICATE_BACKDATE_MS = 5 * 60 * 1000;

export interface CertificateRequest {
  commonName: string;
  organization: readonly string[];
  usages: readonly ExtUsage[];
  altNames: AltNames;
  isCA: boolean;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
}

/** A CA able to sign: its certificate and private key, with the WebCrypto form of the key cached. */
export class Signer {
  private cryptoKey?: Promise<webcrypto.CryptoKey>;
  private readonly parsed: x509.X509Certificate;

  constructor(
    readonly certPem: string,
    readonly key: KeyObject,
  ) {
    this.parsed = new x509.X509Certificate(certPem);
  }

  private signingKey(): Promise<webcrypto.CryptoKey> {
    this.cryptoKey ??= webcrypto.subtle.importKey(
      'pkcs8',
      this.key.export({ type: 'pkcs8', format: 'der' }),
      signingParams(this.key).importParams,
      false,
      ['sign'],
    ) as Promise<webcrypto.CryptoKey>;
    return this.cryptoKey;
  }

  /** Issues a leaf certificate signed by this CA; returns its PEM. */
  async sign(req: CertificateRequest): Promise<string> {
    const ski = this.parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    const extensions: x509.Extension[] = [...baseExtensions(req)];
    extensions.push(
      ski
        ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
        : await x509.AuthorityKeyIdentifierExtension.create(publicKeyDer(publicOf(this.key))),
    );
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: subjectName(req),
      issuer: this.parsed.subjectName,
      notBefore: req.notBefore,
      notAfter: req.notAfter,
      publicKey: publicKeyDer(req.publicKey),
      signingKey: await this.signingKey(),
      signingAlgorithm: signingParams(this.key).signParams,
      extensions,
    });
    return cert.toString('pem') + '\n';
  }
}

/** Creates a self-signed CA certificate for `key`; returns its PEM. */
export async function selfSign(req: CertificateRequest, key: KeyObject): Promise<string> {
  const params = signingParams(key);
  const signingKey = (await webcrypto.subtle.importKey(
    'pkcs8',
    key.export({ type: 'pkcs8', format: 'der' }),
    params.importParams,
    false,
    ['sign'],
  )) as webcrypto.CryptoKey;
  const spki = publicKeyDer(req.publicKey);
  const extensions = [...baseExtensions(req), await x509.SubjectKeyIdentifierExtension.create(spki)];
  const name = subjectName(req);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    publicKey: spki,
    signingKey,
    signingAlgorithm: params.signParams,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

function publicOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

/** Go's pkix.Name order: O before CN, all organizations in one RDN. */
function subjectName(req: CertificateRequest): x509.JsonName {
  const name: x509.JsonName = [];
  if (req.organization.length) name.push({ O: [...req.organization] });
  name.push({ CN: [req.commonName] });
  return name;
}

function baseExtensions(req: CertificateRequest): x509.Extension[] {
  const F = x509.KeyUsageFlags;
  // kubeadm sets KeyEncipherment on every key type (kubeadm#3328), so do we.
  let usage = F.digitalSignature | F.keyEncipherment;
  if (req.isCA) usage |= F.keyCertSign;
  const out: x509.Extension[] = [
    new x509.KeyUsagesExtension(usage, true),
    new x509.BasicConstraintsExtension(req.isCA, undefined, true),
  ];
  if (req.usages.length) {
    out.splice(1, 0, new x509.ExtendedKeyUsageExtension(req.usages.map((u) => x509.ExtendedKeyUsage[u]), false));
  }
  const names: x509.JsonGeneralName[] = [
    ...req.altNames.dns.map((value) => ({ type: 'dns' as const, value })),
    ...req.altNames.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) out.push(new x509.SubjectAlternativeNameExtension(names, false));
  return out;
}

/** Uniform in [1, 2^63-1), as kubeadm's NewSignedCert. */
export function randomSerial(): string {
  const max = (1n << 63n) - 1n;
  for (;;) {
    const n = randomBytes(8).readBigUInt64BE() & max;
    if (n >= 1n && n < max) {
      let hex = n.toString(16);
      if (hex.length % 2) hex = `0${hex}`;
      // DER INTEGERs are signed: a leading byte ≥ 0x80 needs a zero byte in front.
      if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
      return hex;
    }
  }
}
