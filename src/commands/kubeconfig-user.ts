/**
 * `kubestrap kubeconfig user --client-name X [--org O]... [--validity-period 8760h] [--token T]`:
 * kubeadm's command: a kubeconfig for another user on stdout, its client certificate signed by the
 * cluster CA (or the token as credential). The API server URL and cluster name come from --config
 * as for init, else from admin.conf (kubeadm reads them from the cluster with admin.conf).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { KUBERNETES_DIR } from '../config/defaults.js';
import { parseDuration } from '../config/duration.js';
import { resolveInitConfig } from '../config/resolve.js';
import { ConfigError, HostError } from '../errors.js';
import { Host } from '../host/host.js';
import { loadKubeconfig } from '../kubeconfig/load.js';
import { renderKubeconfig } from '../kubeconfig/render.js';
import { CERTIFICATE_BACKDATE_MS, Signer } from '../pki/certificate.js';
import { certFile, keyFile, readCert, readPrivateKey } from '../pki/files.js';
import { generateKeyPair, privateKeyPem } from '../pki/keys.js';

interface UserFlags {
  clientName: string;
  org?: string[];
  validityPeriod?: string;
  token?: string;
  config?: string;
  rootfs?: string;
}

async function where(
  host: Host,
  flags: UserFlags,
): Promise<{ server: string; clusterName: string; pkiDir: string; algorithm?: Parameters<typeof generateKeyPair>[0] }> {
  if (flags.config !== undefined) {
    const cfg = await resolveInitConfig({ config: flags.config });
    return {
      server: cfg.clusterAPIServerURL,
      clusterName: cfg.cluster.clusterName,
      pkiDir: cfg.cluster.certificatesDir,
      algorithm: cfg.cluster.encryptionAlgorithm,
    };
  }
  const admin = path.posix.join(KUBERNETES_DIR, 'admin.conf');
  const kc = await loadKubeconfig(host, admin);
  if (!kc) throw new HostError(`cannot find the cluster: ${host.path(admin)} does not exist`, { hint: 'pass --config with the cluster configuration' });
  return { server: kc.server, clusterName: kc.clusterName, pkiDir: '/etc/kubernetes/pki' };
}

async function runUser(flags: UserFlags): Promise<void> {
  const validityMs = parseDuration(flags.validityPeriod ?? '8760h');
  if (!validityMs)
    throw new ConfigError(`"${flags.validityPeriod}" is not a positive duration`, { field: '--validity-period', hint: 'use a Go duration such as 8760h' });
  const host = new Host(flags.rootfs ?? '/');
  const { server, clusterName, pkiDir, algorithm } = await where(host, flags);
  const caCrt = certFile(pkiDir, 'ca');
  const ca = await readCert(host, caCrt);
  if (!ca) throw new HostError('does not exist', { file: host.path(caCrt), hint: 'run on a control-plane node, or pass --rootfs' });
  if (flags.token !== undefined) {
    process.stdout.write(renderKubeconfig({ clusterName, server, caPem: ca.pem, userName: flags.clientName, token: flags.token }));
    return;
  }
  const caKeyFile = keyFile(pkiDir, 'ca');
  const caKey = await readPrivateKey(host, caKeyFile);
  if (!caKey)
    throw new HostError(`the CA key is missing (external CA): ${host.path(caKeyFile)}`, { hint: 'sign a client certificate with your CA, or use --token' });
  const { privateKey, publicKey } = await generateKeyPair(algorithm ?? 'RSA-2048');
  const now = Date.now();
  const clientCertPem = await new Signer(ca.pem, caKey).sign({
    commonName: flags.clientName,
    organization: flags.org ?? [],
    usages: ['clientAuth'],
    altNames: { dns: [], ips: [] },
    isCA: false,
    notBefore: new Date(now - CERTIFICATE_BACKDATE_MS),
    notAfter: new Date(now + validityMs),
    publicKey,
  });
  process.stdout.write(
    renderKubeconfig({ clusterName, server, caPem: ca.pem, userName: flags.clientName, clientCertPem, clientKeyPem: privateKeyPem(privateKey) }),
  );
}

export function registerKubeconfig(program: Command): void {
  const kubeconfig = program.command('kubeconfig').description('Kubeconfig file utilities');
  kubeconfig
    .command('user')
    .description('Output a kubeconfig file for an additional user')
    .showHelpAfterError(false)
    .requiredOption('--client-name <name>', 'the name of the user; used as the CN of the client certificate')
    .option('--org <organization>', 'the organizations of the client certificate (repeatable); used as its O', (v: string, prev: string[] = []) => [...prev, v])
    .option('--validity-period <duration>', 'the validity period of the client certificate, a Go duration', '8760h')
    .option('--token <token>', 'the token to use as the authentication mechanism for this kubeconfig, instead of client certificates')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file (default: the cluster of admin.conf)')
    .option('--rootfs <dir>', 'read every host path under this directory')
    .action(async (flags: UserFlags) => runUser(flags));
}
