/**
 * Where a stacked etcd cluster answers, as kubeadm's getEtcdEndpointsWithRetry finds it: the client
 * URL each control-plane node's etcd static pod announces in its
 * `kubeadm.kubernetes.io/etcd.advertise-client-urls` annotation (the agent's mirror pods carry the
 * manifest's annotations), read with admin.conf.
 */
import { HostError } from '../errors.js';
import type { KubeClient } from './client.js';
import { withRetry } from './retry.js';

export const ETCD_ADVERTISE_CLIENT_URLS_ANNOTATION = 'kubeadm.kubernetes.io/etcd.advertise-client-urls';

/** The client URLs of every etcd pod in kube-system (component=etcd, tier=control-plane), sorted. */
export async function etcdEndpointsFromPods(client: KubeClient, timeoutMs: number): Promise<string[]> {
  return withRetry(
    async () => {
      const pods = await client.core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'component=etcd,tier=control-plane' });
      const urls = pods.items.flatMap((p) => (p.metadata?.annotations?.[ETCD_ADVERTISE_CLIENT_URLS_ANNOTATION] ?? '').split(',').filter(Boolean));
      if (urls.length === 0) {
        throw new HostError(`no etcd pod in kube-system announces its client URL (annotation ${ETCD_ADVERTISE_CLIENT_URLS_ANNOTATION})`, {
          hint: "are the control-plane nodes' agents running and their mirror pods created? (kubectl -n kube-system get pods -l component=etcd)",
        });
      }
      return [...new Set(urls)].sort();
    },
    { timeoutMs, what: 'reading the etcd endpoints from the etcd pods', retryIf: () => true },
  );
}
