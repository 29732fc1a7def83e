/**
 * kubeadm's createKubeConfigFileIfNotExists, split into the runner's two steps. `prepare` checks an
 * existing file (its CA must be ours: a wrong CA is an error naming the file, a different server only a
 * warning) or starts generating the client key; `run` signs the client certificate and writes 0600.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { HostError } from '../errors.js';
import type { Printer } from '../phases/output.js';
import { isSignedBy } from '../pki/ensure.js';
import { certFile } from '../pki/files.js';
import { privateKeyPem } from '../pki/keys.js';
import type { CA, PkiSession } from '../pki/session.js';
import { caSpec } from '../pki/specs.js';
import { loadKubeconfig } from './load.js';
import { renderKubeconfig } from './render.js';
import { serverURL, type KubeconfigSpec } from './specs.js';

export const KUBECONFIG_MODE = 0o600;
const PREFIX = 'kubeconfig';

export function kubeconfigPath(session: PkiSession, spec: KubeconfigSpec): string {
  return path.posix.join(session.config.paths.kubernetesDir, spec.file);
}

const planKey = (spec: KubeconfigSpec): string => `kubeconfig/${spec.name}`;

function sameCert(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

export async function prepareKubeconfig(session: PkiSession, spec: KubeconfigSpec, out: Printer): Promise<void> {
  const host = session.host;
  const file = kubeconfigPath(session, spec);
  const real = host.path(file);
  const ca = caSpec('ca');
  const onDisk = await session.caOnDisk(ca.name, ca.baseName);
  const existing = await loadKubeconfig(host, file);
  if (!existing) {
    if (onDisk && !onDisk.signer) {
      throw new HostError('is missing; with an external CA (ca.crt without ca.key) kubestrap cannot create it', {
        file: real,
        hint: `provide ${spec.file} with a client certificate signed by your CA, or provide ca.key`,
      });
    }
    if (!onDisk && !session.isPlanned(ca.name)) {
      throw new HostError(`couldn't load CA certificate ${ca.name}: ${host.path(certFile(session.pkiDir, ca.baseName))} does not exist`, {
        file: real,
        hint: 'run "kubestrap init phase certs ca" first',
      });
    }
    session.plans.set(planKey(spec), 'generate');
    session.prefetchKey(planKey(spec));
    return;
  }
  if (!onDisk || !existing.caPem || !sameCert(existing.caPem, onDisk.pem)) {
    throw new HostError(`a kubeconfig file exists already but has got the wrong CA cert`, {
      file: real,
      hint: `remove it to have it regenerated against ${host.path(certFile(session.pkiDir, ca.baseName))}`,
    });
  }
  if (existing.clientCertPem && !isSignedBy(new X509Certificate(existing.clientCertPem), onDisk.cert)) {
    throw new HostError('its client certificate is not signed by the cluster CA', {
      file: real,
      hint: 'remove it to have it regenerated',
    });
  }
  const expected = serverURL(spec, session.config);
  if (existing.server !== expected) {
    out.warn(PREFIX, `a kubeconfig file "${real}" exists already but has an unexpected API Server URL: expected: ${expected}, got: ${existing.server}`);
  }
  session.plans.set(planKey(spec), 'reuse');
}

export async function runKubeconfig(session: PkiSession, spec: KubeconfigSpec, out: Printer): Promise<void> {
  const host = session.host;
  const file = kubeconfigPath(session, spec);
  if (session.plans.get(planKey(spec)) === 'reuse') {
    const ca: CA | undefined = await session.ca('ca', 'ca');
    if (ca && !ca.signer) out.line(PREFIX, `External CA mode: Using user provided ${spec.file}`);
    else out.line(PREFIX, `Using existing kubeconfig file: "${host.path(file)}"`);
    return;
  }
  const ca = await session.ca('ca', 'ca');
  if (!ca?.signer) throw new HostError(`couldn't load CA certificate ca`, { file: host.path(file), hint: 'run "kubestrap init phase certs ca" first' });
  const cfg = session.config;
  const { privateKey, publicKey } = await session.key(planKey(spec));
  const start = session.start.getTime();
  const userName = spec.commonName(cfg);
  const clientCertPem = await ca.signer.sign({
    commonName: userName,
    organization: spec.organization,
    usages: ['clientAuth'],
    altNames: { dns: [], ips: [] },
    isCA: false,
    // kubeadm's kubeconfig phase sets only NotAfter; NewSignedCert then takes NotBefore from the CA
    // (pkiutil/pki_helpers.go), which is not this run's start when the CA was made earlier.
    notBefore: ca.cert.validFromDate,
    notAfter: new Date(start + cfg.certificateValidityMs),
    publicKey,
  });
  const text = renderKubeconfig({
    clusterName: cfg.cluster.clusterName,
    server: serverURL(spec, cfg),
    caPem: ca.pem,
    userName,
    clientCertPem,
    clientKeyPem: privateKeyPem(privateKey),
  });
  out.line(PREFIX, `Writing "${spec.file}" kubeconfig file`);
  await host.writeFile(file, text, KUBECONFIG_MODE);
}
