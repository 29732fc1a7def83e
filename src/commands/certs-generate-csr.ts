/**
 * `kubestrap certs generate-csr [--config] [--cert-dir] [--kubeconfig-dir]`: kubeadm's external-CA
 * preparation. For every leaf certificate a key and `<name>.csr` under the certificate directory,
 * for every kubeconfig a file holding only its client key plus `<file>.csr` beside it; kubeadm's
 * lines ("generating keys and CSRs in <dir>" then one per file). Nothing existing is overwritten.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveInitConfig } from '../config/resolve.js';
import { HostError } from '../errors.js';
import { Host } from '../host/host.js';
import { KUBECONFIG_MODE } from '../kubeconfig/ensure.js';
import { renderKubeconfig } from '../kubeconfig/render.js';
import { KUBECONFIG_SPECS, serverURL } from '../kubeconfig/specs.js';
import { createCsr } from '../pki/csr.js';
import { CERT_MODE, KEY_MODE, ensurePkiDir, keyFile } from '../pki/files.js';
import { generateKeyPair, privateKeyPem } from '../pki/keys.js';
import { CERT_SPECS, isCASpec } from '../pki/specs.js';

interface CsrFlags {
  config?: string;
  certDir?: string;
  kubeconfigDir?: string;
  rootfs?: string;
}

async function refuseExisting(host: Host, files: readonly string[]): Promise<void> {
  for (const f of files) {
    if (await host.exists(f)) throw new HostError('already exists', { file: host.path(f), hint: 'generate-csr never overwrites: move it away first' });
  }
}

async function runGenerateCsr(flags: CsrFlags): Promise<void> {
  const cfg = await resolveInitConfig({ config: flags.config, certDir: flags.certDir });
  const host = new Host(flags.rootfs ?? '/');
  const pkiDir = flags.certDir ?? cfg.paths.pkiDir;
  const kubeconfigDir = flags.kubeconfigDir ?? cfg.paths.kubernetesDir;
  const algorithm = cfg.cluster.encryptionAlgorithm;
  const leaves = CERT_SPECS.filter((s) => !isCASpec(s) && !(s.etcd && cfg.cluster.etcd.external !== undefined));
  await refuseExisting(host, [
    ...leaves.flatMap((s) => [keyFile(pkiDir, s.baseName), path.posix.join(pkiDir, `${s.baseName}.csr`)]),
    ...KUBECONFIG_SPECS.flatMap((k) => [path.posix.join(kubeconfigDir, k.file), path.posix.join(kubeconfigDir, `${k.file}.csr`)]),
  ]);
  process.stdout.write(`generating keys and CSRs in ${host.path(pkiDir)}\n`);
  for (const spec of leaves) {
    const { privateKey } = await generateKeyPair(algorithm);
    const altNames = spec.altNames ? spec.altNames(cfg) : { dns: [], ips: [] };
    const csr = await createCsr({ commonName: spec.commonName(cfg), organization: spec.organization(cfg), altNames }, privateKey);
    await ensurePkiDir(host, pkiDir, spec.baseName);
    await host.writeFile(keyFile(pkiDir, spec.baseName), privateKeyPem(privateKey), KEY_MODE);
    await host.writeFile(path.posix.join(pkiDir, `${spec.baseName}.csr`), csr, CERT_MODE);
    process.stdout.write(`  ${spec.baseName}\n`);
  }
  process.stdout.write(`generating keys and CSRs in ${host.path(kubeconfigDir)}\n`);
  for (const spec of KUBECONFIG_SPECS) {
    const { privateKey } = await generateKeyPair(algorithm);
    const userName = spec.commonName(cfg);
    const csr = await createCsr({ commonName: userName, organization: spec.organization, altNames: { dns: [], ips: [] } }, privateKey);
    const text = renderKubeconfig({ clusterName: cfg.cluster.clusterName, server: serverURL(spec, cfg), userName, clientKeyPem: privateKeyPem(privateKey) });
    await host.writeFile(path.posix.join(kubeconfigDir, spec.file), text, KUBECONFIG_MODE);
    await host.writeFile(path.posix.join(kubeconfigDir, `${spec.file}.csr`), csr, CERT_MODE);
    process.stdout.write(`  ${spec.file}\n`);
  }
}

export function registerGenerateCsr(certs: Command): void {
  certs
    .command('generate-csr')
    .description('Generate keys and certificate signing requests')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--cert-dir <dir>', 'the path where to save the keys and CSRs (default /etc/kubernetes/pki)')
    .option('--kubeconfig-dir <dir>', 'the path where to save the kubeconfig files (default /etc/kubernetes)')
    .option('--rootfs <dir>', 'write every host path under this directory')
    .addHelpText(
      'after',
      '\nFor external CA mode: submit the .csr files to your CA, save each signed certificate beside its key with the\n' +
        '".crt" extension, and put each kubeconfig\'s signed certificate, base64-encoded, in users[0].user.client-certificate-data.\n',
    )
    .action(async (flags: CsrFlags) => runGenerateCsr(flags));
}
