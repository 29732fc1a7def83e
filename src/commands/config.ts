/**
 * `kubestrap config`: kubeadm's `config print init-defaults` and `config images list`, from the
 * same defaults and resolution `init` uses, so what they show is what init would do.
 */
import type { Command } from 'commander';
import { imageList } from '../config/images.js';
import { initDefaultsYaml } from '../config/print.js';
import { resolveClusterConfiguration, type ImagesFlags } from '../config/resolve.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Print kubeadm-compatible configuration and the images it implies');

  const print = config.command('print').description('Print configuration');
  print
    .command('init-defaults')
    .description('Print the default InitConfiguration and ClusterConfiguration (usable with "init --config")')
    .action(() => {
      process.stdout.write(initDefaultsYaml());
    });

  const images = config.command('images').description('Interact with the container images kubestrap uses');
  images
    .command('list')
    .description('Print the images kubestrap will use, one per line')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--kubernetes-version <version>', 'Kubernetes version for the control plane')
    .option('--image-repository <repo>', 'registry to pull control-plane images from (default registry.k8s.io)')
    .action((flags: ImagesFlags) => {
      const cluster = resolveClusterConfiguration(flags);
      process.stdout.write(`${imageList(cluster).join('\n')}\n`);
    });
}
