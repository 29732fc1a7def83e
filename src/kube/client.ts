/**
 * The API clients kubestrap uses, built from a kubeconfig file on the host. kubeadm's kubeconfig
 * files embed the CA and the client certificate, so loading one needs nothing else from disk.
 * @kubernetes/client-node is loaded on the first client: importing it takes ≈ 0.9 s, which `init`
 * would otherwise pay before its first phase although only the post-API phases use it.
 */
import type { AppsV1Api, ConfigurationOptions, CoordinationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import path from 'node:path';
import { HostError, messageOf } from '../errors.js';
import type { Host } from '../host/host.js';

export interface KubeClient {
  /** The loaded kubeconfig (for watches and raw requests). */
  kc: KubeConfig;
  /** Host path of the kubeconfig file, for messages. */
  file: string;
  /** The API server URL of the current context. */
  server: string;
  /** The user name of the current context (its CN for kubeadm files). */
  user: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  coordination: CoordinationV1Api;
  rbac: RbacAuthorizationV1Api;
  /** PATCH options: client-node defaults the body to JSON Patch, so merge patches must say their content type. */
  mergePatch: ConfigurationOptions;
  strategicMergePatch: ConfigurationOptions;
}

/** Loads `kubeconfigPath` (a host path, rootfs applied) and builds the typed clients. */
export async function kubeClient(kubeconfigPath: string, host: Host): Promise<KubeClient> {
  let text: string;
  try {
    text = await host.readText(kubeconfigPath);
  } catch (err) {
    throw new HostError(`cannot read kubeconfig ${host.path(kubeconfigPath)}: ${messageOf(err)}`, {
      cause: err,
      file: host.path(kubeconfigPath),
      hint: 'run the kubeconfig phase first',
    });
  }
  return await kubeClientFromString(text, kubeconfigPath, host);
}

/**
 * Builds the clients from kubeconfig text (`file` only names it in messages). With `host`, file
 * references (kubelet.conf's `client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem`)
 * are host paths, relative ones relative to the file, mapped under the rootfs.
 */
export async function kubeClientFromString(text: string, file = '<kubeconfig>', host?: Host): Promise<KubeClient> {
  const k8s = await import('./client-node.js');
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new HostError(`kubeconfig ${file} is not valid: ${messageOf(err)}`, { cause: err, file });
  }
  if (host) {
    // a kubelet run with rootfs-mapped flags writes paths already under the rootfs
    const map = (p: string | undefined): string | undefined => (p ? host.pathOnce(path.posix.resolve(path.posix.dirname(file), p)) : p);
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, caFile: map(c.caFile) })),
      users: kc.users.map((u) => ({ ...u, certFile: map(u.certFile), keyFile: map(u.keyFile) })),
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new HostError(`kubeconfig ${file} has no current cluster with a server`, { file });
  return {
    kc,
    file,
    server: cluster.server,
    user: kc.getCurrentUser()?.name ?? '',
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    mergePatch: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    strategicMergePatch: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  };
}
