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

interface Row {
  name: string;
  cert?: X509Certificate;
  ca?: CAName;
  externallyManaged: boolean;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no').padEnd(8);

export async function checkExpiration(host: Host, opts: ExpirationOptions): Promise<string> {
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
  const expiry = (c: X509Certificate): [string, string] => {
    const to = new Date(c.validTo);
    return [formatExpiry(to), shortHumanDuration(to.getTime() - now.getTime())];
  };
  const lines = ['CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED'];
  for (const r of certs.sort(byName)) {
    lines.push(r.cert ? [r.name, ...expiry(r.cert), r.ca, yesNo(r.externallyManaged)].join('\t') : `!MISSING! ${r.name}\t\t\t\t`);
  }
  lines.push('');
  lines.push('CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED');
  for (const r of cas.sort(byName)) {
    lines.push(r.cert ? [r.name, ...expiry(r.cert), yesNo(r.externallyManaged)].join('\t') : `!MISSING! ${r.name}\t\t\t`);
  }
  return tabwrite(lines);
}
