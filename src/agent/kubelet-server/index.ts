/**
 * Starts the agent's kubelet API from its configuration: the serving certificate (made when
 * needed), the client CA, the authorizer (SubjectAccessReview through the kubeconfig, else allow
 * every authenticated client), then the HTTPS listener on all addresses.
 */
import { HostError } from '../../errors.js';
import { DEFAULT_CLIENT_CA_FILE, DEFAULT_TLS_CERT_FILE, DEFAULT_TLS_KEY_FILE, type AgentConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { AgentView } from '../server.js';
import type { SubjectAccessReviewer } from './auth.js';

export interface RunningKubeletApi {
  port: number;
  close(): Promise<void>;
}

/** undefined when the port is off, or there is no client CA yet (an agent before `init` made one). */
export async function startKubeletApi(
  config: AgentConfig,
  view: Pick<AgentView, 'desired' | 'states' | 'errors' | 'metrics'>,
  nodeIP: string,
  logger: Logger,
  /** A bootstrapped node's credentials: the reviews follow its certificate rotations. */
  credentials?: { onRotated(cb: () => void | Promise<void>): () => void },
): Promise<RunningKubeletApi | undefined> {
  const port = config.kubeletPort ?? 0;
  if (port === 0) return undefined;
  const log = logger.child({ component: 'kubelet-api' });
  const host = config.host;
  const caFile = config.clientCAFile ?? DEFAULT_CLIENT_CA_FILE;
  const clientCAPem = (await host.readOptional(caFile))?.toString('utf8');
  if (!clientCAPem) {
    log.warn('no client CA: the kubelet API stays off', { clientCAFile: host.path(caFile) });
    return undefined;
  }
  // loaded only now: most standalone agents have no client CA, and these bring node:https, the
  // certificate code and `yaml` (the kubeconfig) into an idle agent's memory
  const [{ loadKubeconfig }, { alwaysAllow, SubjectAccessReviewer }, { KubeletServer }, { ensureServingCert }] = await Promise.all([
    import('../../kubeconfig/load.js'),
    import('./auth.js'),
    import('./server.js'),
    import('./serving-cert.js'),
  ]);
  const certFile = config.tlsCertFile ?? DEFAULT_TLS_CERT_FILE;
  const serving = await ensureServingCert({
    host,
    nodeName: config.nodeName,
    nodeIP,
    certFile,
    keyFile: config.tlsPrivateKeyFile ?? DEFAULT_TLS_KEY_FILE,
    caCertFile: caFile,
    caKeyFile: caFile.replace(/\.crt$/, '.key'),
  });
  let reviewer: SubjectAccessReviewer | undefined;
  if (config.kubeconfig !== undefined) {
    const kc = await loadKubeconfig(host, config.kubeconfig);
    if (!kc) throw new HostError('does not exist', { file: host.path(config.kubeconfig), field: '--kubeconfig' });
    reviewer = new SubjectAccessReviewer(kc, config.nodeName);
  }
  const kubeconfig = config.kubeconfig;
  const unsubscribe = credentials?.onRotated(async () => {
    const next = kubeconfig === undefined ? undefined : await loadKubeconfig(host, kubeconfig).catch(() => undefined);
    if (next) reviewer?.reload(next);
  });
  const server = new KubeletServer({
    view,
    host,
    logger,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    clientCAPem,
    decide: reviewer?.decide ?? alwaysAllow,
    authenticateToken: reviewer?.authenticateToken,
  });
  const bound = await server.listen(port);
  log.info('kubelet API listening', {
    address: `0.0.0.0:${bound}`,
    servingCert: `${host.path(certFile)} (${serving.made})`,
    authorization: reviewer ? 'Webhook' : 'AlwaysAllow',
  });
  return {
    port: bound,
    close: async () => {
      unsubscribe?.();
      await server.close();
      reviewer?.close();
    },
  };
}
