/**
 * The kubelet API's serving certificate. The kubelet self-signs /var/lib/kubelet/pki/kubelet.crt
 * unless serverTLSBootstrap; the agent runs where the cluster CA's key is, so it issues the
 * certificate a kubelet-serving CSR would get (CN system:node:<node>, O system:nodes, serverAuth,
 * the node's name and addresses) signed by the cluster CA — then whoever sets
 * --kubelet-certificate-authority (or metrics-server without --kubelet-insecure-tls) can verify it.
 * Reused while it is signed by that CA, covers the node's names and has more than 30 days left;
 * else made anew. Without the CA key it is self-signed, as the kubelet's. The PKI code is loaded only
 * when a certificate has to be made (it is most of a megabyte the agent need not keep otherwise).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { HostError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';

export interface ServingCertInput {
  host: Host;
  nodeName: string;
  nodeIP: string;
  /** Host paths. */
  certFile: string;
  keyFile: string;
  caCertFile: string;
  caKeyFile: string;
}

export interface ServingCert {
  certPem: string;
  keyPem: string;
  /** 'reused' | 'signed' (by the cluster CA) | 'self-signed'. */
  made: 'reused' | 'signed' | 'self-signed';
}

const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
const VALIDITY_MS = 365 * 24 * 3600_000;

export function servingNames(nodeName: string, nodeIP: string): { dns: string[]; ips: string[] } {
  return { dns: [...new Set([nodeName, 'localhost'])], ips: [...new Set([nodeIP, '127.0.0.1'])] };
}

function reusable(certPem: string, keyPem: string, ca: X509Certificate | undefined, want: { dns: string[]; ips: string[] }): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    if (ca && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) return false;
    return want.dns.every((d) => cert.checkHost(d) !== undefined) && want.ips.every((ip) => cert.checkIP(ip) !== undefined);
  } catch {
    return false;
  }
}

export async function ensureServingCert(input: ServingCertInput): Promise<ServingCert> {
  const { host } = input;
  const want = servingNames(input.nodeName, input.nodeIP);
  const caPem = (await host.readOptional(input.caCertFile))?.toString('utf8');
  let ca: X509Certificate | undefined;
  try {
    ca = caPem ? new X509Certificate(caPem) : undefined;
  } catch (err) {
    throw new HostError(`is not a certificate: ${messageOf(err)}`, { file: host.path(input.caCertFile) });
  }
  const certPem = (await host.readOptional(input.certFile))?.toString('utf8');
  const keyPem = (await host.readOptional(input.keyFile))?.toString('utf8');
  const caKeyPem = (await host.readOptional(input.caKeyFile))?.toString('utf8');
  // with a CA key we insist on a certificate from that CA; without one any valid certificate will do
  if (certPem && keyPem && reusable(certPem, keyPem, caKeyPem ? ca : undefined, want)) return { certPem, keyPem, made: 'reused' };

  const [{ Signer, selfSign, CERTIFICATE_BACKDATE_MS }, { generateKeyPair, privateKeyPem, parsePrivateKey }] = await Promise.all([
    import('../../pki/certificate.js'),
    import('../../pki/keys.js'),
  ]);
  const { privateKey, publicKey } = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const request = {
    commonName: `system:node:${input.nodeName}`,
    organization: ['system:nodes'],
    usages: ['serverAuth'] as const,
    altNames: want,
    isCA: false,
    notBefore: new Date(now - CERTIFICATE_BACKDATE_MS),
    notAfter: new Date(now + VALIDITY_MS),
    publicKey,
  };
  const caKey = caKeyPem ? parsePrivateKey(caKeyPem) : undefined;
  const made: ServingCert['made'] = caPem && caKey ? 'signed' : 'self-signed';
  const pem = made === 'signed' ? await new Signer(caPem!, caKey!).sign(request) : await selfSign(request, privateKey);
  const key = privateKeyPem(privateKey);
  await host.writeFile(input.keyFile, key, 0o600);
  await host.writeFile(input.certFile, pem, 0o644);
  return { certPem: pem, keyPem: key, made };
}
