/**
 * Building and signing X.509 certificates with @peculiar/x509 on Node's native WebCrypto: the same
 * extensions Go's x509.CreateCertificate gives kubeadm's templates (KeyUsage and BasicConstraints
 * critical, SubjectKeyId on CAs, AuthorityKeyId on leaves, in Go's order), ECDSA included.
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';
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
    this.cryptoKey ??= webcrypto.subtle.importKey('pkcs8', this.key.export({ type: 'pkcs8', format: 'der' }), signingParams(this.key).importParams, false, [
      'sign',
    ]) as Promise<webcrypto.CryptoKey>;
    return this.cryptoKey;
  }

  /** Issues a leaf certificate signed by this CA; returns its PEM. */
  async sign(req: CertificateRequest): Promise<string> {
    // Go takes the AuthorityKeyId from the CA's SubjectKeyId, and writes none when the CA has none.
    const ski = this.parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    const extensions = certExtensions(req, ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : undefined);
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
  const signingKey = (await webcrypto.subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), params.importParams, false, [
    'sign',
  ])) as webcrypto.CryptoKey;
  const spki = publicKeyDer(req.publicKey);
  const extensions = certExtensions(req, new x509.SubjectKeyIdentifierExtension(await subjectKeyId(spki)));
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

/**
 * The SubjectKeyId Go's x509.CreateCertificate gives a CA (Go 1.25+, which builds every kubeadm we
 * support): the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits (RFC 7093 §2 method 1),
 * not RFC 5280's SHA-1 that @peculiar/x509's SubjectKeyIdentifierExtension.create uses.
 */
export async function subjectKeyId(spki: Buffer): Promise<string> {
  const digest = await new x509.PublicKey(spki).getKeyIdentifier('SHA-256');
  return Buffer.from(digest).subarray(0, 20).toString('hex');
}

/** Go's pkix.Name order: O before CN, all organizations in one RDN. */
function subjectName(req: CertificateRequest): x509.JsonName {
  const name: x509.JsonName = [];
  if (req.organization.length) name.push({ O: [...req.organization] });
  name.push({ CN: [req.commonName] });
  return name;
}

/**
 * The extensions in the order Go's buildCertExtensions writes them: KeyUsage, ExtKeyUsage,
 * BasicConstraints, SubjectKeyId or AuthorityKeyId, SubjectAltName.
 */
function certExtensions(req: CertificateRequest, keyId: x509.Extension | undefined): x509.Extension[] {
  const F = x509.KeyUsageFlags;
  // kubeadm sets KeyEncipherment on every key type (kubeadm#3328), so do we.
  let usage = F.digitalSignature | F.keyEncipherment;
  if (req.isCA) usage |= F.keyCertSign;
  const out: x509.Extension[] = [new x509.KeyUsagesExtension(usage, true)];
  if (req.usages.length)
    out.push(
      new x509.ExtendedKeyUsageExtension(
        req.usages.map((u) => x509.ExtendedKeyUsage[u]),
        false,
      ),
    );
  out.push(new x509.BasicConstraintsExtension(req.isCA, undefined, true));
  if (keyId) out.push(keyId);
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
