/**
 * The API clients kubestrap uses, built from a kubeconfig file on the host. kubeadm's kubeconfig
 * files embed the CA and the client certificate, so loading one needs nothing else from disk.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
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
}

/** Loads `kubeconfigPath` (a host path, rootfs applied) and builds the typed clients. */
export async function kubeClient(kubeconfigPath: string, host: Host): Promise<KubeClient> {
  let text: string;
  try {
    text = await host.readText(kubeconfigPath);
  } catch (err) {
    throw new HostError(`cannot read kubeconfig ${host.path(kubeconfigPath)}: ${messageOf(err)}`, {
      file: host.path(kubeconfigPath),
      hint: 'run the kubeconfig phase first',
    });
  }
  return kubeClientFromString(text, kubeconfigPath);
}

/** Builds the clients from kubeconfig text (`file` only names it in messages). */
export function kubeClientFromString(text: string, file = '<kubeconfig>'): KubeClient {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new HostError(`kubeconfig ${file} is not valid: ${messageOf(err)}`, { file });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new HostError(`kubeconfig ${file} has no current cluster with a server`, { file });
  return {
    kc,
    file,
    server: cluster.server,
    user: kc.getCurrentUser()?.name ?? '',
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
  };
}

/**
 * Options for a PATCH call: client-node defaults the body to JSON Patch, so merge patches must
 * say their content type.
 */
export const mergePatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicMergePatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
