/**
 * `kubestrap certs`: check-expiration (kubeadm's tables, or -o json|yaml), certificate-key, and the
 * subcommands with modules of their own (renew).
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError } from '../errors.js';
import { KUBERNETES_DIR } from '../config/defaults.js';
import { Host } from '../host/host.js';
import { collectExpiration, expirationDocument, expirationTable } from '../certs/expiration.js';
import { clusterConfigFor } from '../kube/kubeadm-config.js';
import { registerGenerateCsr } from './certs-generate-csr.js';
import { registerCertsRenew } from './certs-renew.js';

interface ExpirationFlags {
  config?: string;
  certDir?: string;
  rootfs?: string;
  output?: string;
}

const OUTPUTS = ['text', 'json', 'yaml'] as const;

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('Commands related to handling Kubernetes certificates');
  certs
    .command('check-expiration')
    .description('Check certificates expiration for a Kubernetes cluster')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--cert-dir <dir>', 'the path where certificates are stored (default /etc/kubernetes/pki)')
    .option('--rootfs <dir>', 'read every host path under this directory')
    .option('-o, --output <format>', `output format: one of ${OUTPUTS.join('|')}`, 'text')
    .action(async (flags: ExpirationFlags) => {
      const output = flags.output ?? 'text';
      if (!(OUTPUTS as readonly string[]).includes(output))
        throw new ConfigError(`unknown output format "${output}"`, { field: '--output', hint: `use ${OUTPUTS.join(', ')}` });
      const host = new Host(flags.rootfs ?? '/');
      const cluster = await clusterConfigFor('check-expiration', host, flags.config, (l) => (output === 'text' ? process.stdout.write(l) : undefined));
      const info = await collectExpiration(host, {
        pkiDir: flags.certDir ?? cluster.certificatesDir,
        kubernetesDir: KUBERNETES_DIR,
        externalEtcd: cluster.etcd.external !== undefined,
      });
      if (output === 'text') process.stdout.write(expirationTable(info));
      else if (output === 'json') process.stdout.write(`${JSON.stringify(expirationDocument(info), null, 4)}\n`);
      else process.stdout.write(stringify(expirationDocument(info), { sortMapEntries: true }));
    });
  certs
    .command('certificate-key')
    .description('Generate certificate keys')
    .addHelpText('after', '\nPrints a secure randomly-generated certificate key that can be used with "kubestrap init --upload-certs --certificate-key".\n')
    .action(() => {
      process.stdout.write(`${randomBytes(32).toString('hex')}\n`);
    });
  registerCertsRenew(certs);
  registerGenerateCsr(certs);
}
