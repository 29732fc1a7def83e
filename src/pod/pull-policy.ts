/** Image pull policies: the values a Pod and kubeadm's nodeRegistration accept, and the kubelet's default. */
export { PULL_POLICIES, type PullPolicy } from '../constants.js';

/** The kubelet's default: Always for `:latest` or an untagged image, else IfNotPresent (digests count as tagged). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return lastPart.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}
