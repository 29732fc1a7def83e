/**
 * kubeadm's "create if missing, else check and reuse" for each CA, leaf and the sa key pair, split in
 * the runner's two steps: `prepare*` reads and validates everything already on disk and starts key
 * generation (nothing is written), `run*` writes and prints kubeadm's lines.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { HostError } from '../errors.js';
import type { Printer } from '../output.js';
import { CERTIFICATE_BACKDATE_MS, Signer, selfSign, type CertificateRequest } from './certificate.js';
import { certFile, keyFile, PUBLIC_KEY_MODE, pubFile, readCert, readPrivateKey, readPublicKey, writeCertAndKey, writeKeyAndPublicKey } from './files.js';
import { publicKeyPem, samePublicKey } from './keys.js';
import { canonicalIP, missingAltNames, type AltNames } from './sans.js';
import { checkKeyMatches, type CA, type PkiSession } from './session.js';
import { SA_KEY, caSpec, type CASpec, type CertSpec } from './specs.js';

const PREFIX = 'certs';

/** The run hint for a CA that is needed but absent. */
function runCAHint(ca: CASpec): string {
  return `run "kubestrap init phase certs ${ca.name}" first, or provide ${ca.baseName}.crt and ${ca.baseName}.key`;
}

/** kubeadm's CheckCertificatePeriodValidity: an expired or not-yet-valid certificate is a warning. */
export function warnPeriod(out: Printer, baseName: string, cert: X509Certificate, now = new Date()): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from)
    out.warn(
      PREFIX,
      `could not validate bounds for certificate ${baseName}: the certificate is not valid yet: NotBefore: ${from.toISOString()}, NotAfter: ${to.toISOString()}`,
    );
  else if (now > to)
    out.warn(
      PREFIX,
      `could not validate bounds for certificate ${baseName}: the certificate has expired: NotBefore: ${from.toISOString()}, NotAfter: ${to.toISOString()}`,
    );
}

/** The SANs a certificate carries, as node:crypto reports them (`DNS:x, IP Address:y`). */
export function certAltNames(cert: X509Certificate): AltNames {
  const out: AltNames = { dns: [], ips: [] };
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) out.dns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) out.ips.push(canonicalIP(part.slice(11)));
  }
  return out;
}

export function isSignedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

function request(session: PkiSession, spec: CertSpec, publicKey: CertificateRequest['publicKey'], out: Printer): CertificateRequest {
  const cfg = session.config;
  const isCA = spec.ca === undefined;
  const commonName = spec.commonName(cfg);
  let altNames: AltNames = isCA ? { dns: [commonName], ips: [] } : { dns: [], ips: [] };
  if (spec.altNames) {
    const computed = spec.altNames(cfg);
    for (const bad of computed.dropped) {
      out.warn(PREFIX, `'${bad}' was not added to the '${spec.baseName}' SAN, because it is not a valid IP or RFC-1123 compliant DNS entry`);
    }
    altNames = computed;
  }
  const start = session.start.getTime();
  return {
    commonName,
    organization: spec.organization(cfg),
    usages: spec.usages,
    altNames,
    isCA,
    notBefore: new Date(start - CERTIFICATE_BACKDATE_MS),
    notAfter: new Date(start + (isCA ? cfg.caCertificateValidityMs : cfg.certificateValidityMs)),
    publicKey,
  };
}

export async function prepareCA(session: PkiSession, spec: CASpec, out: Printer): Promise<void> {
  const existing = await session.caOnDisk(spec.name, spec.baseName);
  if (existing) {
    warnPeriod(out, spec.baseName, existing.cert);
    session.plans.set(spec.name, 'reuse');
    return;
  }
  session.planCA(spec.name);
  session.plans.set(spec.name, 'generate');
  session.prefetchKey(spec.name);
}

export async function runCA(session: PkiSession, spec: CASpec, out: Printer): Promise<CA> {
  if (session.plans.get(spec.name) === 'reuse') {
    const ca = (await session.caOnDisk(spec.name, spec.baseName))!;
    out.line(PREFIX, ca.signer ? `Using existing ${spec.baseName} certificate authority` : `Using existing ${spec.baseName} keyless certificate authority`);
    return ca;
  }
  const { privateKey, publicKey } = await session.key(spec.name);
  const pem = await selfSign(request(session, spec, publicKey, out), privateKey);
  out.line(PREFIX, `Generating "${spec.baseName}" certificate and key`);
  await writeCertAndKey(session.host, session.pkiDir, spec.baseName, pem, privateKey);
  const ca: CA = { name: spec.name, pem, cert: new X509Certificate(pem), signer: new Signer(pem, privateKey), fresh: true };
  session.addCA(ca);
  return ca;
}

/**
 * The CA a leaf needs, as it will be when the leaf's `run` comes: on disk, or planned in this run
 * (then 'planned'). Missing = the clear error kubeadm gives ("couldn't load CA certificate").
 */
async function caForLeaf(session: PkiSession, ca: CASpec, forFile: string): Promise<CA | 'planned'> {
  const onDisk = await session.caOnDisk(ca.name, ca.baseName);
  if (onDisk) return onDisk;
  if (session.isPlanned(ca.name)) return 'planned';
  throw new HostError(`couldn't load CA certificate ${ca.name}: ${session.host.path(certFile(session.pkiDir, ca.baseName))} does not exist`, {
    file: session.host.path(forFile),
    hint: runCAHint(ca),
  });
}

export async function prepareLeaf(session: PkiSession, spec: CertSpec, out: Printer): Promise<void> {
  const host = session.host;
  const caS = caSpec(spec.ca!);
  const crt = certFile(session.pkiDir, spec.baseName);
  const keyPath = keyFile(session.pkiDir, spec.baseName);
  const cert = await readCert(host, crt);
  const key = await readPrivateKey(host, keyPath);
  const ca = await caForLeaf(session, caS, crt);
  if (!cert && !key) {
    if (ca !== 'planned' && !ca.signer) {
      throw new HostError(`the ${caS.name} CA has no key (external CA mode), so kubestrap cannot create this certificate`, {
        file: host.path(crt),
        hint: `provide ${spec.baseName}.crt and ${spec.baseName}.key signed by your ${caS.name} CA, or provide ${caS.baseName}.key`,
      });
    }
    session.plans.set(spec.name, 'generate');
    session.prefetchKey(spec.name);
    return;
  }
  if (!cert) {
    throw new HostError(`found the ${spec.baseName} key but not its certificate ${host.path(crt)}`, {
      file: host.path(keyPath),
      hint: 'provide the certificate, or remove the key to have both regenerated',
    });
  }
  if (!key) {
    throw new HostError(`found the ${spec.baseName} certificate but not its key ${host.path(keyPath)}`, {
      file: host.path(crt),
      hint: 'provide the key, or remove the certificate to have both regenerated',
    });
  }
  checkKeyMatches(host, crt, keyPath, cert, key);
  if (ca === 'planned' || !isSignedBy(cert.cert, ca.cert)) {
    throw new HostError(`certificate ${spec.baseName} is not signed by CA certificate ${caS.baseName}`, {
      file: host.path(crt),
      hint: `remove ${spec.baseName}.crt and ${spec.baseName}.key to have them regenerated, or restore the ${caS.baseName} CA that signed them`,
    });
  }
  if (spec.altNames) {
    const missing = missingAltNames(spec.altNames(session.config), certAltNames(cert.cert));
    if (missing.length) {
      throw new HostError(`certificate ${spec.baseName} lacks required SANs ${missing.join(', ')}`, {
        file: host.path(crt),
        hint: `remove ${spec.baseName}.crt and ${spec.baseName}.key to have them regenerated with the configured SANs`,
      });
    }
  }
  warnPeriod(out, spec.baseName, cert.cert);
  session.plans.set(spec.name, 'reuse');
}

export async function runLeaf(session: PkiSession, spec: CertSpec, out: Printer): Promise<void> {
  if (session.plans.get(spec.name) === 'reuse') {
    out.line(PREFIX, `Using existing ${spec.baseName} certificate and key on disk`);
    return;
  }
  const caS = caSpec(spec.ca!);
  const ca = await session.ca(caS.name, caS.baseName);
  if (!ca?.signer) throw new HostError(`couldn't load CA certificate ${caS.name}`, { hint: runCAHint(caS) });
  const { privateKey, publicKey } = await session.key(spec.name);
  const req = request(session, spec, publicKey, out);
  const pem = await ca.signer.sign(req);
  out.line(PREFIX, `Generating "${spec.baseName}" certificate and key`);
  if (spec.usages.includes('serverAuth')) {
    out.line(PREFIX, `${spec.baseName} serving cert is signed for DNS names [${req.altNames.dns.join(' ')}] and IPs [${req.altNames.ips.join(' ')}]`);
  }
  await writeCertAndKey(session.host, session.pkiDir, spec.baseName, pem, privateKey);
}

export async function prepareSA(session: PkiSession): Promise<void> {
  const host = session.host;
  const keyPath = keyFile(session.pkiDir, SA_KEY.baseName);
  const pubPath = pubFile(session.pkiDir, SA_KEY.baseName);
  const key = await readPrivateKey(host, keyPath);
  if (key) {
    const pub = await readPublicKey(host, pubPath);
    if (pub && !samePublicKey(key, pub)) {
      throw new HostError(`${host.path(pubPath)} is not the public half of ${host.path(keyPath)}`, {
        file: host.path(pubPath),
        hint: 'remove sa.pub to have it rewritten from sa.key',
      });
    }
    session.plans.set(SA_KEY.name, 'reuse');
    return;
  }
  const ca = await session.caOnDisk('ca', 'ca');
  if (ca && !ca.signer) {
    throw new HostError('external CA mode (ca.crt without ca.key) needs the service-account key pair', {
      file: host.path(keyPath),
      hint: 'provide sa.key and sa.pub',
    });
  }
  session.plans.set(SA_KEY.name, 'generate');
  session.prefetchKey(SA_KEY.name);
}

export async function runSA(session: PkiSession, out: Printer): Promise<void> {
  const host = session.host;
  if (session.plans.get(SA_KEY.name) === 'reuse') {
    const pubPath = pubFile(session.pkiDir, SA_KEY.baseName);
    if (!(await host.exists(pubPath))) {
      const key = (await readPrivateKey(host, keyFile(session.pkiDir, SA_KEY.baseName)))!;
      await host.writeFile(pubPath, publicKeyPem(createPublicKey(key)), PUBLIC_KEY_MODE);
    }
    // kubeadm words it differently when the cluster CA is external (it then never touches sa.*).
    const ca = await session.caOnDisk('ca', 'ca');
    out.line(PREFIX, ca && !ca.signer ? 'Using existing sa keys' : `Using the existing "${SA_KEY.baseName}" key`);
    return;
  }
  const { privateKey, publicKey } = await session.key(SA_KEY.name);
  out.line(PREFIX, `Generating "${SA_KEY.baseName}" key and public key`);
  await writeKeyAndPublicKey(host, session.pkiDir, SA_KEY.baseName, privateKey, publicKey);
}
