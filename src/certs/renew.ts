/**
 * kubeadm's RenewUsingLocalCA for one target: the subject, SANs and extended key usages are read back
 * from the certificate on disk (certToConfig), a new key is generated, and the CA on disk signs the
 * new certificate for a fresh validity period (NotBefore backdated 5 minutes). A kubeconfig keeps
 * every other field; its embedded CA is refreshed from ca.crt, as kubeadm's kubeConfigReadWriter does.
 * A CA without its key (external CA mode) renews nothing and says which file to renew elsewhere.
 */
import { X509Certificate } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseDocument, type Document } from 'yaml';
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm } from '../config/types.js';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import { KUBECONFIG_MODE } from '../kubeconfig/ensure.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { describeKey } from '../pki/algorithms.js';
import { CERTIFICATE_BACKDATE_MS, Signer, type CertificateRequest } from '../pki/certificate.js';
import { certAltNames } from '../pki/ensure.js';
import { readCert, readPrivateKey, writeCertAndKey } from '../pki/files.js';
import { generateKeyPair, privateKeyPem } from '../pki/keys.js';
import { caSpec, type ExtUsage } from '../pki/specs.js';
import { caFiles, targetFiles, type RenewTarget, type TargetDirs } from './targets.js';

export interface RenewOptions extends TargetDirs {
  certificateValidityMs: number;
  /** Key type of the new keys; undefined = the same type as the existing certificate's key. */
  encryptionAlgorithm?: EncryptionAlgorithm;
  /** kubeadm's StartTimeUTC of this run. */
  start: Date;
}

export type RenewOutcome =
  | { status: 'renewed'; target: RenewTarget; files: string[]; notAfter: Date }
  | { status: 'missing'; target: RenewTarget; files: string[] }
  | { status: 'external'; target: RenewTarget; files: string[]; missingKey: string };

/** The identity part of a certificate request (kubeadm's certutil.Config), read from a certificate. */
export type CertIdentity = Pick<CertificateRequest, 'commonName' | 'organization' | 'usages' | 'altNames'>;

const USAGE_BY_OID: Readonly<Record<string, ExtUsage>> = {
  [x509.ExtendedKeyUsage.serverAuth]: 'serverAuth',
  [x509.ExtendedKeyUsage.clientAuth]: 'clientAuth',
};

export function identityOf(pem: string, where: string): CertIdentity {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(pem);
  } catch {
    throw new HostError('is not a PEM-encoded X.509 certificate', { file: where, hint: 'restore it, or remove it and run "kubestrap init phase certs"' });
  }
  const eku = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  const usages: ExtUsage[] = [];
  for (const u of eku?.usages ?? []) {
    const known = USAGE_BY_OID[String(u)];
    if (!known)
      throw new HostError(`has extended key usage ${String(u)}, which kubestrap does not issue`, { file: where, hint: 'renew it with the tool that made it' });
    usages.push(known);
  }
  return {
    commonName: parsed.subjectName.getField('CN')[0] ?? '',
    organization: parsed.subjectName.getField('O'),
    usages,
    altNames: certAltNames(new X509Certificate(pem)),
  };
}

/** The existing key's type when it is one kubeadm can generate, else the configured one. */
function algorithmOf(cert: X509Certificate, fallback: EncryptionAlgorithm): EncryptionAlgorithm {
  const kind = describeKey(cert.publicKey);
  return (ENCRYPTION_ALGORITHMS as readonly string[]).includes(kind) ? (kind as EncryptionAlgorithm) : fallback;
}

interface Current {
  pem: string;
  /** Only for kubeconfig targets: the parsed document to write back. */
  doc?: Document;
  userName?: string;
  clusterName?: string;
}

async function readCurrent(host: Host, target: RenewTarget, file: string): Promise<Current | undefined> {
  if (target.kind === 'pki') {
    const cert = await readCert(host, file);
    return cert && { pem: cert.pem };
  }
  const kc = await loadKubeconfig(host, file);
  if (!kc) return undefined;
  if (!kc.clientCertPem) {
    throw new HostError('has no embedded client certificate to renew', {
      file: host.path(file),
      field: `users[${kc.userName}].user.client-certificate-data`,
      hint: 'renew the certificate it points at instead',
    });
  }
  const doc = parseDocument(await host.readText(file));
  return { pem: kc.clientCertPem, doc, userName: kc.userName, clusterName: kc.clusterName };
}

/** Sets `field` of the list entry `name` in a kubeconfig list (`clusters`, `users`). */
function setNamed(doc: Document, list: 'clusters' | 'users', name: string, inner: 'cluster' | 'user', field: string, value: string): void {
  const items = doc.get(list, true) as { items?: { get(k: string, keep?: boolean): unknown }[] } | undefined;
  const index = items?.items?.findIndex((e) => e.get('name') === name) ?? -1;
  if (index < 0) return;
  doc.setIn([list, index, inner, field], value);
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Renews one target (writes nothing when the host is a dry run: its writes are only planned). */
export async function renewOne(host: Host, target: RenewTarget, opts: RenewOptions): Promise<RenewOutcome> {
  const files = targetFiles(target, opts);
  const current = await readCurrent(host, target, files[0]!);
  if (!current) return { status: 'missing', target, files };
  const ca = caFiles(target, opts.pkiDir);
  const caCert = await readCert(host, ca.crt);
  if (!caCert) {
    throw new HostError(`couldn't load CA certificate ${target.ca}: ${host.path(ca.crt)} does not exist`, {
      file: host.path(files[0]!),
      hint: `restore ${ca.baseName}.crt and ${ca.baseName}.key`,
    });
  }
  const caKey = await readPrivateKey(host, ca.key);
  if (!caKey) return { status: 'external', target, files, missingKey: ca.key };
  const identity = identityOf(current.pem, host.path(files[0]!));
  const existing = new X509Certificate(current.pem);
  const { privateKey, publicKey } = await generateKeyPair(opts.encryptionAlgorithm ?? algorithmOf(existing, 'RSA-2048'));
  const start = opts.start.getTime();
  const notAfter = new Date(start + opts.certificateValidityMs);
  const pem = await new Signer(caCert.pem, caKey).sign({
    ...identity,
    isCA: false,
    notBefore: new Date(start - CERTIFICATE_BACKDATE_MS),
    notAfter,
    publicKey,
  });
  if (target.kind === 'pki') {
    await writeCertAndKey(host, opts.pkiDir, target.cert!.baseName, pem, privateKey);
  } else {
    const doc = current.doc!;
    setNamed(doc, 'clusters', current.clusterName!, 'cluster', 'certificate-authority-data', b64(caCert.pem));
    setNamed(doc, 'users', current.userName!, 'user', 'client-certificate-data', b64(pem));
    setNamed(doc, 'users', current.userName!, 'user', 'client-key-data', b64(privateKeyPem(privateKey)));
    await host.writeFile(files[0]!, doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: false }), KUBECONFIG_MODE);
  }
  return { status: 'renewed', target, files, notAfter };
}

/** kubeadm's line for an outcome, plus where kubestrap differs: which file to renew by hand. */
export function outcomeLine(o: RenewOutcome, host: Host, dryRun: boolean): string {
  switch (o.status) {
    case 'missing':
      return `MISSING! ${o.target.longName}`;
    case 'external':
      return `Detected external ${caSpec(o.target.ca).baseName}, ${o.target.longName} can't be renewed: ${host.path(o.missingKey)} is missing, so renew ${o.files.map((f) => host.path(f)).join(' and ')} with that CA yourself`;
    case 'renewed':
      return dryRun
        ? `[dry-run] ${o.target.longName} would be renewed (${o.files.map((f) => host.path(f)).join(', ')}; new expiry ${o.notAfter.toISOString()})`
        : `${o.target.longName} renewed`;
  }
}
