/**
 * State shared by the certs and kubeconfig phases of one run: the start time every validity period
 * counts from, the CAs (loaded from disk, or generated in memory so a dry run can still sign), and the
 * key pairs, which are all started in the phases' `prepare` so they are generated in parallel.
 */
import type { KeyObject } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.js';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import { Signer } from './certificate.js';
import { certFile, keyFile, readCert, readPrivateKey, type LoadedCert } from './files.js';
import { generateKeyPair, type KeyPair } from './keys.js';
import type { CAName } from './specs.js';

export interface CA extends LoadedCert {
  name: CAName;
  /** Absent for an external CA (certificate provided without its key). */
  signer?: Signer;
  /** Generated in this run (not on disk before it). */
  fresh: boolean;
}

export class PkiSession {
  /** kubeadm's StartTimeUTC: NotBefore is this minus 5 minutes, NotAfter this plus the validity. */
  readonly start = new Date();
  private readonly keys = new Map<string, Promise<KeyPair>>();
  private readonly cas = new Map<CAName, CA>();
  private readonly diskCAs = new Map<CAName, Promise<CA | undefined>>();
  /** CAs this run will generate (their `prepare` ran and found nothing on disk). */
  private readonly plannedCAs = new Set<CAName>();
  /** What `prepare` decided per file set (keyed by spec name), for `run` to carry out. */
  readonly plans = new Map<string, 'generate' | 'reuse'>();

  constructor(
    readonly host: Host,
    readonly config: ResolvedConfig,
  ) {}

  get pkiDir(): string {
    return this.config.paths.pkiDir;
  }

  /** Starts generating the key for `id` now; `key(id)` later returns it. */
  prefetchKey(id: string): void {
    if (this.keys.has(id)) return;
    const pending = generateKeyPair(this.config.cluster.encryptionAlgorithm);
    pending.catch(() => undefined); // reported by whoever awaits it
    this.keys.set(id, pending);
  }

  key(id: string): Promise<KeyPair> {
    this.prefetchKey(id);
    return this.keys.get(id)!;
  }

  planCA(name: CAName): void {
    this.plannedCAs.add(name);
  }

  isPlanned(name: CAName): boolean {
    return this.plannedCAs.has(name) && !this.cas.has(name);
  }

  addCA(ca: CA): void {
    this.cas.set(ca.name, ca);
  }

  /** The CA as it is on disk (cert, plus key when present), validated; undefined when no ca.crt. */
  caOnDisk(name: CAName, baseName: string): Promise<CA | undefined> {
    let pending = this.diskCAs.get(name);
    if (!pending) {
      pending = this.loadCA(name, baseName);
      this.diskCAs.set(name, pending);
    }
    return pending;
  }

  /** The CA to sign with or verify against: generated in this run, else from disk. */
  async ca(name: CAName, baseName: string): Promise<CA | undefined> {
    return this.cas.get(name) ?? (await this.caOnDisk(name, baseName));
  }

  private async loadCA(name: CAName, baseName: string): Promise<CA | undefined> {
    const crt = certFile(this.pkiDir, baseName);
    const keyPath = keyFile(this.pkiDir, baseName);
    const cert = await readCert(this.host, crt);
    const key = await readPrivateKey(this.host, keyPath);
    if (!cert) {
      if (key) {
        throw new HostError(`found the ${name} key but not its certificate ${this.host.path(crt)}`, {
          file: this.host.path(keyPath),
          hint: 'provide the certificate, or remove the key to generate a new CA',
        });
      }
      return undefined;
    }
    if (!cert.cert.ca) {
      throw new HostError(`certificate ${baseName} is not a CA`, {
        file: this.host.path(crt),
        hint: 'replace it with a CA certificate (BasicConstraints CA:TRUE)',
      });
    }
    if (key) checkKeyMatches(this.host, crt, keyPath, cert, key);
    return { name, ...cert, signer: key ? new Signer(cert.pem, key) : undefined, fresh: false };
  }
}

export function checkKeyMatches(host: Host, crt: string, keyPath: string, cert: LoadedCert, key: KeyObject): void {
  if (!cert.cert.checkPrivateKey(key)) {
    throw new HostError(`the private key does not match the certificate ${host.path(crt)}`, {
      file: host.path(keyPath),
      hint: 'provide the matching key, or remove both files to have them regenerated',
    });
  }
}
