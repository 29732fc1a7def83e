/**
 * Bootstrap tokens as Secrets (`kube-system/bootstrap-token-<id>`, type bootstrap.kubernetes.io/token),
 * byte-compatible with kubeadm and the API server's token authenticator.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { BootstrapToken } from '../config/types.js';
import { parseDuration } from '../config/duration.js';

export const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const DEFAULT_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';

export interface TokenParts {
  id: string;
  secret: string;
}

/** Splits `abcdef.0123456789abcdef`; undefined when it does not match kubeadm's pattern. */
export function parseToken(token: string): TokenParts | undefined {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** A fresh token in kubeadm's alphabet ([a-z0-9]). */
export function generateToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // 256 % 36 = 4: rejecting bytes ≥ 252 keeps every character equally likely.
  const pick = (n: number): string => {
    let out = '';
    while (out.length < n) {
      for (const b of randomBytes(n * 2)) {
        if (b < 252 && out.length < n) out += alphabet[b % 36];
      }
    }
    return out;
  };
  return `${pick(6)}.${pick(16)}`;
}

export const bootstrapTokenSecretName = (id: string): string => `bootstrap-token-${id}`;

/**
 * The Secret for one token. `now` fixes the expiration for tests; the TTL (Go duration) wins over
 * a fixed `expires`, as in kubeadm; a TTL of 0 means the token never expires.
 */
export function bootstrapTokenSecret(token: BootstrapToken, now: Date = new Date()): V1Secret {
  const parts = parseToken(token.token);
  if (!parts) throw new Error(`bootstrap token does not match ${TOKEN_PATTERN.source}`);
  const data: Record<string, string> = {
    'token-id': parts.id,
    'token-secret': parts.secret,
  };
  if (token.description) data.description = token.description;
  const ttlMs = token.ttl !== undefined ? parseDuration(token.ttl) : undefined;
  if (ttlMs !== undefined && ttlMs > 0) data.expiration = rfc3339(new Date(now.getTime() + ttlMs));
  else if (ttlMs === undefined && token.expires) data.expiration = token.expires;
  for (const usage of token.usages) data[`usage-bootstrap-${usage}`] = 'true';
  if (token.groups.length > 0) data['auth-extra-groups'] = token.groups.join(',');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: bootstrapTokenSecretName(parts.id), namespace: 'kube-system' },
    type: BOOTSTRAP_TOKEN_SECRET_TYPE,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** RFC 3339 without fractional seconds, as Go's time.RFC3339 formats it. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A bootstrap token as read back from its Secret (kubeadm's BootstrapTokenFromSecret). */
export interface StoredToken {
  token: string;
  description?: string;
  /** RFC 3339, as stored; absent: never expires. */
  expires?: string;
  /** Sorted, as kubeadm lists them. */
  usages: string[];
  groups: string[];
}

const USAGE_PREFIX = 'usage-bootstrap-';

/** The token a Secret holds; throws an Error saying what is wrong with a malformed one. */
export function tokenFromSecret(secret: V1Secret): StoredToken {
  const name = secret.metadata?.name ?? '';
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  const id = data['token-id'];
  if (!id) throw new Error(`bootstrap Token Secret has no token-id data: ${name}`);
  if (name !== bootstrapTokenSecretName(id)) {
    throw new Error(`bootstrap token name is not of the form 'bootstrap-token-(token-id)'. Actual: "${name}". Expected: "${bootstrapTokenSecretName(id)}"`);
  }
  const secretPart = data['token-secret'];
  if (!secretPart) throw new Error(`bootstrap Token Secret has no token-secret data: ${name}`);
  const token = `${id}.${secretPart}`;
  if (!parseToken(token)) throw new Error(`bootstrap Token Secret is invalid and couldn't be parsed: ${name}`);
  const expires = data.expiration || undefined;
  if (expires !== undefined && Number.isNaN(Date.parse(expires))) throw new Error(`can't parse expiration time of bootstrap token "${name}"`);
  const usages = Object.keys(data)
    .filter((k) => k.startsWith(USAGE_PREFIX) && data[k] === 'true')
    .map((k) => k.slice(USAGE_PREFIX.length))
    .sort();
  const groups = (data['auth-extra-groups'] ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  return { token, ...(data.description ? { description: data.description } : {}), ...(expires ? { expires } : {}), usages, groups };
}
