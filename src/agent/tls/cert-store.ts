/**
 * The kubelet's client certificate store (client-go util/certificate fileStore) in the cert dir:
 * `kubelet-client-<YYYY-MM-DD-HH-MM-SS>.pem` holds the certificate chain and then the key (mode
 * 0600), and `kubelet-client-current.pem` is a symlink to the newest; a new pair is linked as
 * `kubelet-client-updated.pem` first and renamed over `current`, so a reader always sees a whole
 * pair. One difference: the link target is the file's name, not its absolute path, so the link is
 * right both inside `--rootfs` and seen from the host. Until the first certificate is issued the
 * key waits in `kubelet-client.key.tmp` (reused by a restarted bootstrap, as the kubelet does).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { lstat, rename, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HostError, messageOf } from '../../errors.js';
import type { Host } from '../../host/host.js';
import { generateKeyPair, parsePrivateKey, privateKeyPem } from '../../pki/keys.js';

export const CLIENT_PAIR_PREFIX = 'kubelet-client';
export const TMP_KEY_FILE = `${CLIENT_PAIR_PREFIX}.key.tmp`;

export interface StoredPair {
  /** Host path of the pair file (the `current` link). */
  file: string;
  certPem: string;
  keyPem: string;
  cert: X509Certificate;
  key: KeyObject;
}

/** Go's time.Format("2006-01-02-15-04-05") in local time, as the kubelet names its pairs. */
export function pairTimestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----\n?/g;

/** Splits a pair file into its certificate blocks and its key block. */
export function splitPair(text: string): { certPem: string; keyPem: string } {
  let certPem = '';
  let keyPem = '';
  for (const m of text.matchAll(PEM_BLOCK)) {
    const block = m[0].endsWith('\n') ? m[0] : `${m[0]}\n`;
    if (m[1] === 'CERTIFICATE') certPem += block;
    else if (/PRIVATE KEY$/.test(m[1]!)) keyPem ||= block;
  }
  return { certPem, keyPem };
}

export class ClientCertStore {
  constructor(
    private readonly host: Host,
    /** Host path of the cert dir (the kubelet's --cert-dir). */
    readonly certDir: string,
  ) {}

  /** Host path of `kubelet-client-current.pem`, what kubelet.conf points at. */
  currentPath(): string {
    return path.posix.join(this.certDir, `${CLIENT_PAIR_PREFIX}-current.pem`);
  }

  tmpKeyPath(): string {
    return path.posix.join(this.certDir, TMP_KEY_FILE);
  }

  /** The current pair; undefined when there is none or it does not parse (then a bootstrap makes a new one). */
  async current(): Promise<StoredPair | undefined> {
    const text = (await this.host.readOptional(this.currentPath()))?.toString('utf8');
    if (!text) return undefined;
    return parsePair(text, this.currentPath());
  }

  /**
   * The key to request with, as the kubelet's LoadClientCert picks it: the current pair's, else
   * the waiting one (`kubelet-client.key.tmp`), else a new P-256 key, kept there until a
   * certificate is issued.
   */
  async bootstrapKey(): Promise<KeyObject> {
    const current = await this.current();
    if (current) return current.key;
    const waiting = await this.host.readOptional(this.tmpKeyPath());
    const parsed = waiting ? parsePrivateKey(waiting) : undefined;
    if (parsed) return parsed;
    const { privateKey } = await generateKeyPair('ECDSA-P256');
    await this.host.mkdir(this.certDir, 0o755);
    await this.host.writeFile(this.tmpKeyPath(), privateKeyPem(privateKey), 0o600);
    return privateKey;
  }

  /** Writes a new pair file and points `current` at it; returns the stored pair. */
  async update(certPem: string, keyPem: string, now: Date = new Date()): Promise<StoredPair> {
    const name = `${CLIENT_PAIR_PREFIX}-${pairTimestamp(now)}.pem`;
    const file = path.posix.join(this.certDir, name);
    const pair = parsePair(certPem + keyPem, file);
    if (!pair) throw new HostError('the issued certificate and key do not form a pair', { file: this.host.path(file) });
    await this.host.mkdir(this.certDir, 0o755);
    await this.host.writeFile(file, certPem + keyPem, 0o600);
    const updated = this.host.path(path.posix.join(this.certDir, `${CLIENT_PAIR_PREFIX}-updated.pem`));
    const current = this.host.path(this.currentPath());
    try {
      for (const link of [updated, current]) {
        const st = await lstat(link).catch(() => undefined);
        if (st && !st.isSymbolicLink()) throw new Error(`${link} is a file, not a symlink: move it away`);
      }
      await unlink(updated).catch(() => undefined);
      await symlink(name, updated);
      await rename(updated, current);
    } catch (err) {
      throw new HostError(`cannot link ${current} to ${name}: ${messageOf(err)}`, { cause: err, file: current });
    }
    return { ...pair, file: this.currentPath() };
  }
}

function parsePair(text: string, file: string): StoredPair | undefined {
  const { certPem, keyPem } = splitPair(text);
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) return undefined;
    return { file, certPem, keyPem, cert, key };
  } catch {
    return undefined;
  }
}
