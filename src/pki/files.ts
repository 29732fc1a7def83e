/**
 * Where PKI files live and how they are read and written: `<certificatesDir>/<baseName>.crt|.key`,
 * modes as kubeadm (certs 0644, keys and sa.pub 0600, directories 0755), every path through Host.
 * Anything unreadable is an error naming the file, never a stack trace.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { HostError } from '../errors.js';
import type { Host } from '../host/host.js';
import { parsePrivateKey, parsePublicKey, privateKeyPem, publicKeyPem } from './keys.js';

export const CERT_MODE = 0o644;
export const KEY_MODE = 0o600;
export const PUBLIC_KEY_MODE = 0o600;
export const DIR_MODE = 0o755;

export const certFile = (pkiDir: string, baseName: string): string => path.posix.join(pkiDir, `${baseName}.crt`);
export const keyFile = (pkiDir: string, baseName: string): string => path.posix.join(pkiDir, `${baseName}.key`);
export const pubFile = (pkiDir: string, baseName: string): string => path.posix.join(pkiDir, `${baseName}.pub`);

/** A certificate as read from PEM: the text (written/embedded as is) and its parsed form. */
export interface LoadedCert {
  pem: string;
  cert: X509Certificate;
}

export function parseCertPem(pem: string, where: string): LoadedCert {
  try {
    return { pem, cert: new X509Certificate(pem) };
  } catch {
    throw new HostError('is not a PEM-encoded X.509 certificate', { file: where, hint: 'replace or remove it' });
  }
}

export async function readCert(host: Host, hostPath: string): Promise<LoadedCert | undefined> {
  const raw = await host.readOptional(hostPath);
  return raw === undefined ? undefined : parseCertPem(raw.toString('utf8'), host.path(hostPath));
}

export async function readPrivateKey(host: Host, hostPath: string): Promise<KeyObject | undefined> {
  const raw = await host.readOptional(hostPath);
  if (raw === undefined) return undefined;
  const key = parsePrivateKey(raw);
  if (!key) throw new HostError('is not a PEM-encoded private key', { file: host.path(hostPath), hint: 'replace or remove it' });
  return key;
}

export async function readPublicKey(host: Host, hostPath: string): Promise<KeyObject | undefined> {
  const raw = await host.readOptional(hostPath);
  if (raw === undefined) return undefined;
  const key = parsePublicKey(raw);
  if (!key) throw new HostError('is not a PEM-encoded public key', { file: host.path(hostPath), hint: 'replace or remove it' });
  return key;
}

/** Directories already made per Host, so a run of 30 writes does not re-create them 30 times. */
const madeDirs = new WeakMap<Host, Set<string>>();

async function mkdirOnce(host: Host, dir: string): Promise<void> {
  let made = madeDirs.get(host);
  if (!made) madeDirs.set(host, (made = new Set()));
  if (made.has(dir)) return;
  await host.mkdir(dir, DIR_MODE);
  made.add(dir);
}

/** Creates certificatesDir (and its etcd/ subdirectory when needed) with kubeadm's mode. */
export async function ensurePkiDir(host: Host, pkiDir: string, baseName: string): Promise<void> {
  await mkdirOnce(host, pkiDir);
  const sub = path.posix.dirname(baseName);
  if (sub !== '.') await mkdirOnce(host, path.posix.join(pkiDir, sub));
}

export async function writeCertAndKey(host: Host, pkiDir: string, baseName: string, certPem: string, key: KeyObject): Promise<void> {
  await ensurePkiDir(host, pkiDir, baseName);
  // Key first: a certificate on disk without its key would look like an external CA.
  await host.writeFile(keyFile(pkiDir, baseName), privateKeyPem(key), KEY_MODE);
  await host.writeFile(certFile(pkiDir, baseName), certPem, CERT_MODE);
}

export async function writeKeyAndPublicKey(host: Host, pkiDir: string, baseName: string, key: KeyObject, pub: KeyObject): Promise<void> {
  await ensurePkiDir(host, pkiDir, baseName);
  await host.writeFile(keyFile(pkiDir, baseName), privateKeyPem(key), KEY_MODE);
  await host.writeFile(pubFile(pkiDir, baseName), publicKeyPem(pub), PUBLIC_KEY_MODE);
}
