/** A throw-away ECDSA P-256 CA for unit tests that sign certificates (valid from a minute back for a day). */
import { CERTIFICATE_BACKDATE_MS, Signer, selfSign } from '../../src/pki/certificate.js';
import { generateKeyPair } from '../../src/pki/keys.js';

export async function makeTestCA(cn = 'kubernetes'): Promise<{ pem: string; signer: Signer }> {
  const { privateKey, publicKey } = await generateKeyPair('ECDSA-P256');
  const now = Date.now();
  const pem = await selfSign(
    {
      commonName: cn,
      organization: [],
      usages: [],
      altNames: { dns: [cn], ips: [] },
      isCA: true,
      notBefore: new Date(now - CERTIFICATE_BACKDATE_MS),
      notAfter: new Date(now + 86400_000),
      publicKey,
    },
    privateKey,
  );
  return { pem, signer: new Signer(pem, privateKey) };
}
