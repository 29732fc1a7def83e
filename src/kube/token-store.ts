/**
 * The bootstrap-token Secrets of kube-system as `kubestrap token` reads and writes them: create
 * (refused when the id exists, as kubeadm's CreateNewTokens; cluster-info then signed for it), list
 * by the Secret type, delete.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { HostError } from '../errors.js';
import { BOOTSTRAP_TOKEN_SECRET_TYPE, tokenFromSecret } from './bootstrap-token.js';
import { CLUSTER_INFO, CLUSTER_INFO_NAMESPACE, clusterInfoSignatures } from './discovery.js';
import type { KubeClient } from './client.js';
import { apiErrorMessage, isNotFound } from './errors.js';

const NAMESPACE = 'kube-system';

export interface TokenStore {
  /** Whether a Secret of that name exists. */
  exists(name: string): Promise<boolean>;
  create(secret: V1Secret): Promise<void>;
  list(): Promise<V1Secret[]>;
  delete(name: string): Promise<void>;
}

/** An API error as one line that names the server and what was being done. */
function failed(c: KubeClient, what: string, err: unknown): HostError {
  return new HostError(`${what} at ${c.server}: ${apiErrorMessage(err)}`, { cause: err, file: c.file });
}

export function apiTokenStore(c: KubeClient): TokenStore {
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw failed(c, what, err);
    }
  };
  return {
    exists: (name) =>
      call(`cannot read Secret ${NAMESPACE}/${name}`, () =>
        c.core.readNamespacedSecret({ name, namespace: NAMESPACE }).then(
          () => true,
          (err: unknown) => {
            if (isNotFound(err)) return false;
            throw err;
          },
        ),
      ),
    create: (secret) =>
      call('failed to create bootstrap token', async () => {
        await c.core.createNamespacedSecret({ namespace: NAMESPACE, body: secret });
        await signClusterInfo(c, secret);
      }),
    list: () =>
      call('failed to list bootstrap tokens', async () => {
        const list = await c.core.listNamespacedSecret({ namespace: NAMESPACE, fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` });
        return list.items;
      }),
    delete: (name) =>
      call(`failed to delete bootstrap token Secret ${name}`, async () => void (await c.core.deleteNamespacedSecret({ name, namespace: NAMESPACE }))),
  };
}

/**
 * Adds the new token's `jws-kubeconfig-<id>` to cluster-info as the controller-manager's
 * bootstrapsigner would (src/kube/discovery.ts clusterInfoSignatures), so a join with it need not
 * wait for the signer. Best effort: no cluster-info, a conflict or a refusal leaves it to the signer.
 */
async function signClusterInfo(c: KubeClient, secret: V1Secret): Promise<void> {
  try {
    const cm = await c.core.readNamespacedConfigMap({ name: CLUSTER_INFO, namespace: CLUSTER_INFO_NAMESPACE });
    const kubeconfig = cm.data?.kubeconfig;
    if (!kubeconfig) return;
    const signatures = clusterInfoSignatures(kubeconfig, [tokenFromSecret(secret)]);
    if (Object.entries(signatures).every(([k, v]) => cm.data?.[k] === v)) return;
    // the read resourceVersion makes this a compare-and-swap with the signer
    await c.core.replaceNamespacedConfigMap({ name: CLUSTER_INFO, namespace: CLUSTER_INFO_NAMESPACE, body: { ...cm, data: { ...cm.data, ...signatures } } });
  } catch {
    // the bootstrapsigner signs it within seconds anyway
  }
}
