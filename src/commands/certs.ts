/** `kubestrap certs check-expiration`: kubeadm's expiration report for the PKI and kubeconfig files. */
import type { Command } from 'commander';
import { KUBERNETES_DIR } from '../config/defaults.js';
import { resolveClusterConfiguration } from '../config/resolve.js';
import { Host } from '../host/host.js';
import { checkExpiration } from '../certs/expiration.js';

interface ExpirationFlags {
  config?: string;
  certDir?: string;
  rootfs?: string;
}

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('Commands related to handling Kubernetes certificates');
  certs
    .command('check-expiration')
    .description('Check certificates expiration for a Kubernetes cluster')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--cert-dir <dir>', 'the path where certificates are stored (default /etc/kubernetes/pki)')
    .option('--rootfs <dir>', 'read every host path under this directory')
    .action(async (flags: ExpirationFlags) => {
      const cluster = resolveClusterConfiguration({ config: flags.config });
      const host = new Host(flags.rootfs ?? '/');
      const text = await checkExpiration(host, {
        pkiDir: flags.certDir ?? cluster.certificatesDir,
        kubernetesDir: KUBERNETES_DIR,
        externalEtcd: cluster.etcd.external !== undefined,
      });
      process.stdout.write(text);
    });
}
