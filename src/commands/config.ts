/**
 * `kubestrap config`: kubeadm's `config print init-defaults` and `config images list`, from the
 * same defaults and resolution `init` uses, so what they show is what init would do.
 */
import type { Command } from 'commander';
import { etcdImage, imageList, kubernetesImage } from '../config/images.js';
import { Host } from '../host/host.js';
import { binariesFrom, importIntoContainerd, installForProcessRuntime } from '../images/install.js';
import { initDefaultsYaml, joinDefaultsYaml } from '../config/print.js';
import { resolveClusterConfiguration, type ImagesFlags } from '../config/resolve.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Print kubeadm-compatible configuration and the images it implies');

  const print = config.command('print').description('Print configuration');
  print
    .command('init-defaults')
    .description('Print the default InitConfiguration and ClusterConfiguration (usable with "init --config")')
    .option('--component-configs <kinds>', 'also print the defaults of these component configs: KubeletConfiguration, KubeProxyConfiguration (comma-separated)')
    .action((flags: { componentConfigs?: string }) => {
      const kinds = (flags.componentConfigs ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      process.stdout.write(initDefaultsYaml(kinds));
    });

  print
    .command('join-defaults')
    .description('Print the default JoinConfiguration (usable with "join --config")')
    .action(() => {
      process.stdout.write(joinDefaultsYaml());
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

  images
    .command('import')
    .description('Install the control-plane images from static binaries (air-gapped): for the process runtime, and into containerd with --containerd')
    .requiredOption('--from <dir>', 'directory holding etcd, kube-apiserver, kube-controller-manager and kube-scheduler binaries')
    .option('--rootfs <dir>', 'put the image store under this directory')
    .option('--containerd <address>', 'also build OCI images and import them into this containerd socket (k8s.io namespace)')
    .option('--config <file>', 'path to a kubeadm.k8s.io/v1beta4 configuration file')
    .option('--kubernetes-version <version>', 'Kubernetes version for the control plane')
    .option('--image-repository <repo>', 'registry the images are named after (default registry.k8s.io)')
    .action(async (flags: ImagesFlags & { from: string; rootfs?: string; containerd?: string }) => {
      const cluster = resolveClusterConfiguration(flags);
      const wanted = [
        { component: 'etcd' as const, image: etcdImage(cluster) },
        ...(['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const).map((component) => ({
          component,
          image: kubernetesImage(cluster, component),
        })),
      ];
      const images = await binariesFrom(flags.from, wanted);
      const host = new Host(flags.rootfs ?? '/');
      await host.checkRootfs();
      for (const target of await installForProcessRuntime(host, images)) process.stdout.write(`[images] Installed ${target}\n`);
      if (flags.containerd) {
        await importIntoContainerd(flags.containerd, images);
        for (const img of images) process.stdout.write(`[images] Imported ${img.image} into containerd at ${flags.containerd}\n`);
      }
    });
}
