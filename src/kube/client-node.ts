/**
 * The parts of @kubernetes/client-node that kubestrap uses, in one place. Importing names (rather
 * than the whole namespace) lets the bundler leave out the rest of the library: the ≈ 600 API
 * model classes are most of what loading it costs.
 */
export {
  AppsV1Api,
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  V1MicroTime,
  Watch,
} from '@kubernetes/client-node';
