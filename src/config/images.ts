/**
 * Image names kubeadm derives from ClusterConfiguration (cmd/kubeadm/app/images/images.go):
 * control-plane images share `imageRepository` and the Kubernetes version; etcd, CoreDNS and pause
 * have their own pinned tags.
 */
import type { ClusterConfiguration } from './types.js';
import { DEFAULT_IMAGE_REPOSITORY, releaseFor } from './versions.js';

/** Image tags cannot hold `+` (build metadata), kubeadm replaces it with `_`. */
function versionTag(version: string): string {
  return version.replace(/\+/g, '_');
}

export function kubernetesImage(cluster: ClusterConfiguration, component: string): string {
  return `${cluster.imageRepository}/${component}:${versionTag(cluster.kubernetesVersion)}`;
}

export function etcdImageTag(cluster: ClusterConfiguration): string {
  return cluster.etcd.local?.imageTag || releaseFor(cluster.kubernetesVersion).etcdImageTag;
}

export function etcdImage(cluster: ClusterConfiguration): string {
  const repo = cluster.etcd.local?.imageRepository || cluster.imageRepository;
  return `${repo}/etcd:${etcdImageTag(cluster)}`;
}

export function corednsImage(cluster: ClusterConfiguration): string {
  let repo = cluster.dns.imageRepository || cluster.imageRepository;
  // CoreDNS lives in a sub-path of the default registry only.
  if (repo === DEFAULT_IMAGE_REPOSITORY) repo = `${repo}/coredns`;
  return `${repo}/coredns:${cluster.dns.imageTag || releaseFor(cluster.kubernetesVersion).corednsVersion}`;
}

export function pauseImage(cluster: ClusterConfiguration): string {
  return `${cluster.imageRepository}/pause:${releaseFor(cluster.kubernetesVersion).pauseVersion}`;
}

/** etcd version an image tag names: `3.6.5-0` → `3.6.5`, `v3.5.21` → `3.5.21`. */
export function etcdVersionOfTag(tag: string): string {
  return tag.replace(/^v/, '').replace(/-\d+$/, '');
}

/** `config images list`: kubeadm's order; kube-proxy/CoreDNS only when enabled, etcd only when local. */
export function imageList(cluster: ClusterConfiguration): string[] {
  const images = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => kubernetesImage(cluster, c));
  if (!cluster.proxy.disabled) images.push(kubernetesImage(cluster, 'kube-proxy'));
  if (!cluster.dns.disabled) images.push(corednsImage(cluster));
  images.push(pauseImage(cluster));
  if (!cluster.etcd.external) images.push(etcdImage(cluster));
  return images;
}
