/**
 * Image recipes for the Kubernetes control-plane components, laid out like the upstream images on
 * registry.k8s.io: the binary at the path upstream uses, a PATH that lets manifests say
 * `command: [kube-apiserver, ...]`, and the few /etc files distroless bases carry (users, so
 * `runAsUser` names resolve; nsswitch.conf, so Go consults /etc/hosts before DNS).
 */
import type { ImageFile, ImageRunConfig, ImageSpec } from './oci.js';

export type ComponentImage = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy' | 'etcd' | 'pause' | 'coredns';

interface Recipe {
  /** Where the binary lives in the image. */
  binaryPath: string;
  config: ImageRunConfig;
  /** The repository under the registry when it is not the component's name (`coredns/coredns`). */
  repository?: string;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const RECIPES: Readonly<Record<ComponentImage, Recipe>> = {
  'kube-apiserver': { binaryPath: '/usr/local/bin/kube-apiserver', config: { env: [PATH_ENV] } },
  'kube-controller-manager': { binaryPath: '/usr/local/bin/kube-controller-manager', config: { env: [PATH_ENV] } },
  'kube-scheduler': { binaryPath: '/usr/local/bin/kube-scheduler', config: { env: [PATH_ENV] } },
  'kube-proxy': { binaryPath: '/usr/local/bin/kube-proxy', config: { env: [PATH_ENV] } },
  etcd: { binaryPath: '/usr/local/bin/etcd', config: { env: [PATH_ENV], workingDir: '/' } },
  // Upstream pause runs as 65535 with /pause as entrypoint.
  pause: { binaryPath: '/pause', config: { entrypoint: ['/pause'], user: '65535:65535', env: [PATH_ENV] } },
  // Upstream's runs as nonroot with the file capability cap_net_bind_service on /coredns; layers
  // here carry no xattrs, so it runs as root (kubeadm's Deployment still drops all but that one).
  coredns: { binaryPath: '/coredns', config: { entrypoint: ['/coredns'], env: [PATH_ENV] }, repository: 'coredns/coredns' },
};

const BASE_FILES: readonly ImageFile[] = [
  {
    path: '/etc/passwd',
    mode: 0o644,
    content: Buffer.from(
      'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' +
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    ),
  },
  { path: '/etc/group', mode: 0o644, content: Buffer.from('root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n') },
  { path: '/etc/nsswitch.conf', mode: 0o644, content: Buffer.from('hosts: files dns\n') },
  { path: '/tmp', type: 'dir', mode: 0o1777 },
  { path: '/root', type: 'dir', mode: 0o700 },
];

/**
 * The image spec for one component, given its binary's content and the full reference. `extra`
 * adds files the binary execs (kube-proxy's iptables, as upstream's distroless-iptables base has).
 */
export function componentImageSpec(component: ComponentImage, ref: string, binary: Buffer, extra: readonly ImageFile[] = []): ImageSpec {
  const recipe = RECIPES[component];
  return {
    ref,
    files: [...BASE_FILES, ...extra, { path: recipe.binaryPath, mode: 0o755, content: binary }],
    config: { ...recipe.config, labels: { 'org.opencontainers.image.title': component } },
  };
}

/** A fingerprint of the recipe itself, so a cache keyed on it rebuilds when the layout changes. */
export function recipeFingerprint(component: ComponentImage): string {
  return JSON.stringify({ v: 1, recipe: RECIPES[component], base: BASE_FILES.map((f) => [f.path, f.mode, f.content?.toString('base64')]) });
}

/** Upstream image name of a component under `repository` (registry.k8s.io by default). */
export function componentImageRef(component: ComponentImage, tag: string, repository = 'registry.k8s.io'): string {
  return `${repository}/${RECIPES[component].repository ?? component}:${tag}`;
}
