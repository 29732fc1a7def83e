/**
 * The shared control-plane certificates between nodes, kubeadm's copycerts: which files travel
 * (upload-certs on init, download-certs on a control-plane join), writing the downloaded ones, and
 * kubeadm's manual mode — without a certificate key the shared files must already be in place, and
 * a missing one is named.
 */
import path from 'node:path';
import type { ResolvedConfig } from '../config/types.js';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { KubeClient } from '../kube/client.js';
import { CertsSecretError, decryptCertsSecret, readCertsSecret, UPLOAD_CERTS_COMMAND, UPLOADED_CERT_FILES } from '../kube/copycerts.js';
import { CERT_MODE, DIR_MODE, KEY_MODE, PUBLIC_KEY_MODE } from '../pki/files.js';

/**
 * Where the shared files live on a node: init reads it from its ResolvedConfig (`sharedCertsPlace`), a
 * control-plane join from the cluster's ClusterConfiguration (certificatesDir, etcd.external).
 */
export interface SharedCertsPlace {
  pkiDir: string;
  externalEtcd?: { caFile: string; certFile: string; keyFile: string };
  /** kubeadm's kubernetesAPICall timeout, for reading the Secret. */
  apiTimeoutMs: number;
}

export function sharedCertsPlace(config: ResolvedConfig): SharedCertsPlace {
  return { pkiDir: config.paths.pkiDir, externalEtcd: config.cluster.etcd.external, apiTimeoutMs: config.timeoutsMs.kubernetesAPICall };
}

/** [Secret key, host path] of every shared file (external etcd: its client files instead of the etcd CA). */
export function certsToTransfer(place: SharedCertsPlace): [string, string][] {
  const pki = place.pkiDir;
  const external = place.externalEtcd;
  const local = UPLOADED_CERT_FILES.filter(([k]) => !(external && k.startsWith('etcd-'))).map(([k, rel]): [string, string] => [k, path.posix.join(pki, rel)]);
  if (!external) return local;
  return [...local, ['external-etcd-ca.crt', external.caFile], ['external-etcd.crt', external.certFile], ['external-etcd.key', external.keyFile]];
}

/** Certificates and sa.pub must travel; a CA key may be absent (an external CA keeps it). */
const required = (secretKey: string): boolean => secretKey.endsWith('.crt') || secretKey === 'sa.pub';

function modeOf(file: string): number {
  if (file.endsWith('.key')) return KEY_MODE;
  if (file.endsWith('.pub')) return PUBLIC_KEY_MODE;
  return CERT_MODE;
}

/**
 * download-certs: reads kube-system/kubeadm-certs, decrypts every entry (all or nothing), then writes
 * the files — keys 0600, certificates 0644 — under the rootfs. Returns the host paths written.
 */
export async function downloadCerts(host: Host, place: SharedCertsPlace, client: KubeClient, certificateKey: string): Promise<string[]> {
  const sealed = await readCertsSecret(client, place.apiTimeoutMs);
  const plain = decryptCertsSecret(sealed, certificateKey);
  const files = certsToTransfer(place);
  const lacking = files.filter(([k]) => required(k) && !plain.get(k)?.length).map(([k]) => k);
  if (lacking.length > 0) {
    throw new CertsSecretError('incomplete', `Secret "kube-system/kubeadm-certs" lacks ${lacking.join(', ')}`);
  }
  const written: string[] = [];
  for (const [k, file] of files) {
    const content = plain.get(k);
    if (!content?.length) continue;
    await host.mkdir(path.posix.dirname(file), DIR_MODE);
    await host.writeFile(file, content, modeOf(file));
    written.push(file);
  }
  return written;
}

/**
 * Manual mode (no --certificate-key): the shared files a control-plane join needs, as kubeadm's
 * SharedCertificateExists checks them — each CA's certificate and key, and the service-account pair
 * — named when missing.
 */
export async function missingSharedCerts(host: Host, place: SharedCertsPlace): Promise<string[]> {
  const missing: string[] = [];
  for (const [, file] of certsToTransfer(place)) {
    if ((await host.readOptional(file)) === undefined) missing.push(file);
  }
  return missing;
}

/** missingSharedCerts as the one-line error of a control-plane join's preflight. */
export async function requireSharedCerts(host: Host, place: SharedCertsPlace): Promise<void> {
  const missing = await missingSharedCerts(host, place);
  if (missing.length === 0) return;
  throw new HostError(`the shared control-plane certificates are not in place: ${missing.map((f) => host.path(f)).join(', ')} missing`, {
    hint: `copy them from a control-plane node, or join with --certificate-key (\`${UPLOAD_CERTS_COMMAND}\` on a control-plane node prints one)`,
  });
}
