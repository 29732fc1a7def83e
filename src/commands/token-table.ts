/**
 * `kubestrap token list` output, byte for byte kubeadm's: columns TOKEN TTL EXPIRES USAGES
 * DESCRIPTION EXTRA GROUPS, cells pre-padded as kubeadm's formatBootstrapToken does, and each token
 * laid out by its own tabwriter (kubeadm flushes one per token; the header goes with the first).
 */
import type { StoredToken } from '../kube/bootstrap-token.js';
import { shortHumanDuration, tabwrite } from '../util/go-format.js';

const HEADER = ['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS'].join('\t');

/** One token's row, as kubeadm's formatBootstrapToken (`%-9s`, `%-22s`, `%-56s`, `<none>`, `<forever>`). */
export function tokenRow(t: StoredToken, now: number): string {
  const expiresAt = t.expires === undefined ? undefined : Date.parse(t.expires);
  const ttl = expiresAt === undefined ? '<forever>' : shortHumanDuration(expiresAt - now);
  const none = (s: string): string => s || '<none>';
  return [
    t.token,
    ttl.padEnd(9),
    t.expires ?? '<never>',
    none(t.usages.join(',')).padEnd(22),
    none(t.description ?? '').padEnd(56),
    none(t.groups.join(',')),
  ].join('\t');
}

/** The whole listing; empty (no header either) when there are no tokens, as kubeadm prints it. */
export function tokenTable(tokens: readonly StoredToken[], now = Date.now()): string {
  return tokens.map((t, i) => tabwrite(i === 0 ? [HEADER, tokenRow(t, now)] : [tokenRow(t, now)])).join('');
}
