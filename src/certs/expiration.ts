/**
 * `certs check-expiration`: kubeadm's two tables (certificates incl. the kubeconfig client
 * certificates, then CAs), with its date format, residual-time rounding and tabwriter layout.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { Host } from '../host/host.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { KUBECONFIG_SPECS } from '../kubeconfig/specs.js';
import { certFile, keyFile, readCert } from '../pki/files.js';
import { CERT_SPECS, isCASpec, type CAName } from '../pki/specs.js';
import { formatExpiry, shortHumanDuration, tabwrite } from '../util/go-format.js';

export interface ExpirationOptions {
  pkiDir: string;
  kubernetesDir: string;
  externalEtcd: boolean;
  now?: Date;
}

export interface Row {
  name: string;
  cert?: X509Certificate;
  ca?: CAName;
  externallyManaged: boolean;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no').padEnd(8);

/** What kubeadm's check-expiration gathers: certificates (leaves + kubeconfigs) and CAs, sorted by name. */
export interface ExpirationInfo {
  certs: Row[];
  cas: Row[];
  now: Date;
}

export async function collectExpiration(host: Host, opts: ExpirationOptions): Promise<ExpirationInfo> {
  const now = opts.now ?? new Date();
  const specs = CERT_SPECS.filter((s) => !(opts.externalEtcd && s.etcd));
  const caKeyless = new Map<CAName, boolean>();
  const cas: Row[] = [];
  for (const spec of specs.filter(isCASpec)) {
    const loaded = await readCert(host, certFile(opts.pkiDir, spec.baseName)).catch(() => undefined);
    const external = loaded !== undefined && !(await host.exists(keyFile(opts.pkiDir, spec.baseName)));
    caKeyless.set(spec.name, external);
    cas.push({ name: spec.name, cert: loaded?.cert, externallyManaged: external });
  }
  const certs: Row[] = [];
  for (const spec of specs.filter((s) => !isCASpec(s))) {
    const loaded = await readCert(host, certFile(opts.pkiDir, spec.baseName)).catch(() => undefined);
    certs.push({ name: spec.name, cert: loaded?.cert, ca: spec.ca, externallyManaged: caKeyless.get(spec.ca!) ?? false });
  }
  for (const spec of KUBECONFIG_SPECS.filter((k) => k.renewable)) {
    const kc = await loadKubeconfig(host, path.posix.join(opts.kubernetesDir, spec.file)).catch(() => undefined);
    let cert: X509Certificate | undefined;
    try {
      cert = kc?.clientCertPem ? new X509Certificate(kc.clientCertPem) : undefined;
    } catch {
      cert = undefined;
    }
    certs.push({ name: spec.file, cert, ca: 'ca', externallyManaged: caKeyless.get('ca') ?? false });
  }
  const byName = (a: Row, b: Row): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { certs: certs.sort(byName), cas: cas.sort(byName), now };
}

export async function checkExpiration(host: Host, opts: ExpirationOptions): Promise<string> {
  return expirationTable(await collectExpiration(host, opts));
}

/** kubeadm's two tables. */
export function expirationTable(info: ExpirationInfo): string {
  const { certs, cas, now } = info;
  const expiry = (c: X509Certificate): [string, string] => {
    const to = new Date(c.validTo);
    return [formatExpiry(to), shortHumanDuration(to.getTime() - now.getTime())];
  };
  const lines = ['CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED'];
  for (const r of certs) {
    lines.push(r.cert ? [r.name, ...expiry(r.cert), r.ca, yesNo(r.externallyManaged)].join('\t') : `!MISSING! ${r.name}\t\t\t\t`);
  }
  lines.push('');
  lines.push('CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED');
  for (const r of cas) {
    lines.push(r.cert ? [r.name, ...expiry(r.cert), yesNo(r.externallyManaged)].join('\t') : `!MISSING! ${r.name}\t\t\t`);
  }
  return tabwrite(lines);
}

/** One entry of kubeadm's output.kubeadm.k8s.io/v1alpha3 Certificate. */
export interface CertificateEntry {
  name: string;
  expirationDate: string | null;
  residualTime: number;
  caName?: string;
  externallyManaged: boolean;
  missing: boolean;
}

/** `-o json|yaml`: kubeadm's CertificateExpirationInfo (Go field order, metav1.Time in RFC 3339 seconds). */
export function expirationDocument(info: ExpirationInfo): {
  kind: 'CertificateExpirationInfo';
  apiVersion: 'output.kubeadm.k8s.io/v1alpha3';
  certificates: CertificateEntry[];
  certificateAuthorities: CertificateEntry[];
} {
  const entry = (r: Row): CertificateEntry => {
    if (!r.cert) return { name: r.name, expirationDate: null, residualTime: 0, externallyManaged: false, missing: true };
    const to = new Date(r.cert.validTo);
    return {
      name: r.name,
      expirationDate: to.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      residualTime: Math.trunc((to.getTime() - info.now.getTime()) / 1000),
      ...(r.ca ? { caName: r.ca } : {}),
      externallyManaged: r.externallyManaged,
      missing: false,
    };
  };
  return {
    kind: 'CertificateExpirationInfo',
    apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
    certificates: info.certs.map(entry),
    certificateAuthorities: info.cas.map(entry),
  };
}
