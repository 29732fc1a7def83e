/**
 * Token discovery, as kubeadm and `kubeadm join` see it: the CA pin (`sha256:<hex>` of the CA's
 * SubjectPublicKeyInfo), the `cluster-info` kubeconfig and the detached JWS the controller-manager's
 * bootstrapsigner puts next to it.
 */
import { createHash, createHmac, timingSafeEqual, X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { parseToken } from './bootstrap-token.js';

/** kubeadm's `--discovery-token-ca-cert-hash` value for a PEM CA certificate. */
export function caCertHash(caPem: string | Buffer): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * The kubeconfig stored in kube-public/cluster-info: one cluster named "" with the server and the
 * embedded CA, no users or contexts, no `preferences` (what kubeadm's bootstrap-token phase writes
 * with client-go v0.34+).
 */
export function clusterInfoKubeconfig(server: string, caPem: string | Buffer): string {
  const ca = Buffer.isBuffer(caPem) ? caPem : Buffer.from(caPem);
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': ca.toString('base64'), server }, name: '' }],
    contexts: null,
    'current-context': '',
    kind: 'Config',
    users: null,
  });
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** A detached compact JWS (`header..signature`), HS256 keyed by the token secret, as bootstrapsigner makes. */
export function signDetachedJWS(payload: string, tokenId: string, tokenSecret: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: tokenId }));
  const sig = createHmac('sha256', tokenSecret)
    .update(`${header}.${b64url(payload)}`)
    .digest();
  return `${header}..${b64url(sig)}`;
}

/** The ConfigMap anonymous users read for token discovery, in kube-public. */
export const CLUSTER_INFO = 'cluster-info';
export const CLUSTER_INFO_NAMESPACE = 'kube-public';

/** cluster-info's data key prefix for a token's signature (bootstrapapi.JWSSignatureKeyPrefix). */
export const JWS_PREFIX = 'jws-kubeconfig-';

/** A token as far as signing cluster-info goes (a BootstrapToken or a StoredToken). */
export interface SigningToken {
  token: string;
  usages: readonly string[];
  /** RFC 3339; absent: never expires. */
  expires?: string;
}

/**
 * The `jws-kubeconfig-<id>` entries the controller-manager's bootstrapsigner would add to
 * cluster-info for these tokens (signConfigMap): one per token with the `signing` usage that has
 * not expired, over the `kubeconfig` value. Written with the ConfigMap so a join right after
 * init or `token create` need not wait for the signer; its resync then finds nothing to change.
 */
export function clusterInfoSignatures(kubeconfig: string, tokens: readonly SigningToken[], now: Date = new Date()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tokens) {
    const parts = parseToken(t.token);
    if (!parts || !t.usages.includes('signing')) continue;
    if (t.expires !== undefined && Date.parse(t.expires) <= now.getTime()) continue;
    out[`${JWS_PREFIX}${parts.id}`] = signDetachedJWS(kubeconfig, parts.id, parts.secret);
  }
  return out;
}

/**
 * Checks a detached JWS over `payload` with the token secret, the way `kubeadm join` validates
 * `jws-kubeconfig-<id>`: HS256, `kid` equal to the token id, constant-time signature compare.
 */
export function verifyDetachedJWS(jws: string, payload: string, tokenId: string, tokenSecret: string): boolean {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts[1] !== '') return false;
  const [header, , signature] = parts as [string, string, string];
  let parsed: { alg?: unknown; kid?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
  } catch {
    return false;
  }
  if (parsed.alg !== 'HS256' || parsed.kid !== tokenId) return false;
  const want = createHmac('sha256', tokenSecret)
    .update(`${header}.${b64url(payload)}`)
    .digest();
  const got = Buffer.from(signature, 'base64url');
  return got.length === want.length && timingSafeEqual(got, want);
}
