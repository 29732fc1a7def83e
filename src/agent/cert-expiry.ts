/**
 * When the node's certificates expire, for the agent's /metrics
 * (`kubestrap_certificate_expiration_seconds{file}`, a Unix time like the kubelet's
 * certificate-manager gauges) and `kubestrap ps`'s warning: every `*.crt` under /etc/kubernetes/pki
 * (and its etcd/ directory), the client certificate embedded in every /etc/kubernetes/*.conf, and
 * any extra file (the agent's serving certificate). Parsed with node:crypto only, cached by mtime.
 */
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
// js-yaml (the manifests' parser), not `yaml`: an idle standalone agent then loads one YAML library
import { CORE_SCHEMA, load } from 'js-yaml';
import type { Host } from '../host/host.js';

export const PKI_DIR = '/etc/kubernetes/pki';
export const KUBERNETES_DIR = '/etc/kubernetes';
/** `kubestrap ps` warns about certificates that expire within this. */
export const EXPIRY_WARNING_MS = 30 * 24 * 3600_000;
export const EXPIRY_METRIC = 'kubestrap_certificate_expiration_seconds';

export interface CertExpiry {
  /** Host path. */
  file: string;
  notAfter: Date;
}

function listDir(real: string, suffix: string): string[] {
  try {
    return readdirSync(real)
      .filter((n) => n.endsWith(suffix))
      .sort();
  } catch {
    return [];
  }
}

/** The client certificate PEM embedded in a kubeconfig's first user (kubeadm writes one). */
function kubeconfigCert(text: string): string | undefined {
  const doc = load(text, { schema: CORE_SCHEMA }) as { users?: { user?: Record<string, unknown> }[] } | null;
  const data = doc?.users?.[0]?.user?.['client-certificate-data'];
  return typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

export class CertExpiryScanner {
  private readonly cache = new Map<string, { mtimeMs: number; notAfter?: Date }>();

  constructor(
    private readonly host: Host,
    private readonly extra: () => string[] = () => [],
  ) {}

  private candidates(): string[] {
    const files: string[] = [];
    for (const dir of [PKI_DIR, `${PKI_DIR}/etcd`]) for (const n of listDir(this.host.path(dir), '.crt')) files.push(`${dir}/${n}`);
    for (const n of listDir(this.host.path(KUBERNETES_DIR), '.conf')) files.push(`${KUBERNETES_DIR}/${n}`);
    return [...new Set([...files, ...this.extra()])];
  }

  private read(file: string): Date | undefined {
    const real = this.host.path(file);
    let mtimeMs: number;
    try {
      mtimeMs = statSync(real).mtimeMs;
    } catch {
      this.cache.delete(file);
      return undefined;
    }
    const hit = this.cache.get(file);
    if (hit?.mtimeMs === mtimeMs) return hit.notAfter;
    let notAfter: Date | undefined;
    try {
      const text = readFileSync(real, 'utf8');
      const pem = path.extname(file) === '.conf' ? kubeconfigCert(text) : text;
      notAfter = pem ? new Date(new X509Certificate(pem).validTo) : undefined;
    } catch {
      notAfter = undefined; // not a certificate (or a kubeconfig without one): not listed
    }
    this.cache.set(file, { mtimeMs, notAfter });
    return notAfter;
  }

  scan(): CertExpiry[] {
    const out: CertExpiry[] = [];
    for (const file of this.candidates()) {
      const notAfter = this.read(file);
      if (notAfter) out.push({ file, notAfter });
    }
    return out;
  }
}

/** Parses the metric back out of /metrics text (for `kubestrap ps`). */
export function expiriesFromMetrics(text: string): CertExpiry[] {
  const out: CertExpiry[] = [];
  const re = new RegExp(`^${EXPIRY_METRIC}\\{file="((?:[^"\\\\]|\\\\.)*)"\\} (\\S+)$`, 'gm');
  for (const m of text.matchAll(re)) out.push({ file: m[1]!.replace(/\\(.)/g, '$1'), notAfter: new Date(Number(m[2]) * 1000) });
  return out;
}
