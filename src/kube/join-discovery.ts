/**
 * `kubestrap join`'s discovery, as kubeadm's cmd/kubeadm/app/discovery: find the cluster's API
 * server and CA from a bootstrap token (cluster-info read without trust, its JWS for the token
 * verified, the CA checked against the pins, then read again over verified TLS and compared) or
 * from a kubeconfig file / https URL. Nothing here writes anything; the result is what
 * bootstrap-kubelet.conf is made of. Plain node:https (no client-node): discovery is on join's
 * critical path and needs two GETs.
 */
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { formatDuration } from '../config/duration.js';
import { KubestrapError, messageOf } from '../errors.js';
import { parseKubeconfig, type LoadedKubeconfig } from '../kubeconfig/load.js';
import { parseToken } from './bootstrap-token.js';
import { caCertHash, verifyDetachedJWS } from './discovery.js';
import { rawRequest } from './raw.js';
import { sleep } from './retry.js';

/** Discovery could not establish whom to trust. */
export class DiscoveryError extends KubestrapError {}

export const CLUSTER_INFO_PATH = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
const JWS_PREFIX = 'jws-kubeconfig-';
/** kubeadm's DiscoveryRetryInterval is a fixed 5 s; a back-off from 250 ms finds a starting API server sooner. */
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/** What discovery establishes: the API server and the CA to trust, plus credentials when a discovery file had some. */
export interface DiscoveredCluster {
  server: string;
  caPem: string;
  /** From a discovery file with embedded credentials (used when no TLS bootstrap token is given). */
  credentials?: Pick<LoadedKubeconfig, 'token' | 'clientCertPem' | 'clientKeyPem'>;
}

export interface DiscoveryOptions {
  timeoutMs: number;
  /** Progress lines (`[discovery] ...`) while retrying. */
  progress: (message: string) => void;
}

export interface TokenDiscovery {
  /** host:port */
  endpoint: string;
  token: string;
  caCertHashes: readonly string[];
  unsafeSkipCAVerification: boolean;
}

interface ClusterEntry {
  server: string;
  caPem?: string;
}

/** The current context's cluster of a kubeconfig, or its first cluster (kubeadm's GetClusterFromKubeConfig). */
export function clusterOfKubeconfig(text: string, file: string): ClusterEntry {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new DiscoveryError(`the kubeconfig is not valid YAML: ${messageOf(err)}`, { file, cause: err });
  }
  const d = (doc ?? {}) as {
    clusters?: { name?: string; cluster?: Record<string, unknown> }[];
    contexts?: { name?: string; context?: { cluster?: string } }[];
    'current-context'?: string;
  };
  const clusters = Array.isArray(d.clusters) ? d.clusters : [];
  const current = Array.isArray(d.contexts) ? d.contexts.find((c) => c.name === d['current-context'])?.context?.cluster : undefined;
  const entry = (current !== undefined ? clusters.find((c) => c.name === current) : undefined) ?? clusters[0];
  const server = entry?.cluster?.server;
  if (typeof server !== 'string' || !server)
    throw new DiscoveryError('the kubeconfig must have at least one cluster with a server', { file, field: 'clusters' });
  const data = entry?.cluster?.['certificate-authority-data'];
  return { server, caPem: typeof data === 'string' && data ? Buffer.from(data, 'base64').toString('utf8') : undefined };
}

/** Every certificate of a PEM bundle, hashed as pins are (a CA bundle may hold several). */
function bundleHashes(caPem: string): string[] {
  const blocks = caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => caCertHash(b));
}

/** kubeadm's pins may be bare hex; compare in one form. */
const normalizePin = (pin: string): string => (pin.toLowerCase().startsWith('sha256:') ? pin.toLowerCase() : `sha256:${pin.toLowerCase()}`);

interface ClusterInfoAnswer {
  kubeconfig?: string;
  signatures: Record<string, string>;
}

/** One GET of cluster-info; `caPem` undefined means "without trust" (kubeadm's InsecureSkipTLSVerify). */
async function getClusterInfo(
  server: string,
  caPem: string | undefined,
  timeoutMs: number,
  auth?: DiscoveredCluster['credentials'],
): Promise<ClusterInfoAnswer> {
  const kc: LoadedKubeconfig = { file: '', contextName: '', clusterName: '', userName: '', server, caPem, ...auth };
  const agent = new https.Agent({ ca: caPem, rejectUnauthorized: caPem !== undefined, cert: auth?.clientCertPem, key: auth?.clientKeyPem });
  try {
    const answer = await rawRequest(kc, 'GET', CLUSTER_INFO_PATH, { agent, timeoutMs });
    if (answer.status !== 200) throw Object.assign(new Error(`GET ${CLUSTER_INFO_PATH}: HTTP ${answer.status}`), { status: answer.status });
    const data = ((JSON.parse(answer.body) as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
    const signatures = Object.fromEntries(Object.entries(data).filter(([k]) => k.startsWith(JWS_PREFIX)));
    return { kubeconfig: data.kubeconfig, signatures };
  } finally {
    agent.destroy();
  }
}

/**
 * Retries `attempt` (undefined = try again, with the reason) with a back-off until the discovery
 * timeout; each retry prints one progress line. Gives up with the last reason.
 */
async function untilDiscovered<T>(what: string, options: DiscoveryOptions, attempt: (remainingMs: number) => Promise<T | { retry: string }>): Promise<T> {
  const start = Date.now();
  const deadline = start + options.timeoutMs;
  let wait = FIRST_RETRY_MS;
  for (;;) {
    const remaining = deadline - Date.now();
    const got = await attempt(Math.max(250, Math.min(remaining, 10_000)));
    if (!(typeof got === 'object' && got !== null && 'retry' in got)) return got;
    const elapsed = Date.now() - start;
    if (Date.now() >= deadline) {
      throw new DiscoveryError(`${got.retry} (gave up after ${formatDuration(elapsed)}, the discovery timeout)`, {
        field: 'timeouts.discovery',
        hint: `is ${what} reachable from this node? the timeout is JoinConfiguration timeouts.discovery (${formatDuration(options.timeoutMs)})`,
      });
    }
    options.progress(`${got.retry}; retrying (${Math.round(elapsed / 1000)} s of ${formatDuration(options.timeoutMs)})`);
    // the last attempt is made at the deadline, so the timeout is the time given, not less
    await sleep(Math.min(wait, deadline - Date.now()));
    wait = Math.min(wait * 2, MAX_RETRY_MS);
  }
}

/**
 * cluster-info with a JWS for `tokenId`: kubeadm's getClusterInfo polls until the request succeeds
 * and the controller-manager's bootstrapsigner has signed for the token (a fresh token is signed a
 * moment after it is created; an unknown or expired one never is).
 */
function signedClusterInfo(server: string, caPem: string | undefined, tokenId: string, options: DiscoveryOptions): Promise<ClusterInfoAnswer> {
  return untilDiscovered(server, options, async (timeoutMs) => {
    let info: ClusterInfoAnswer;
    try {
      info = await getClusterInfo(server, caPem, timeoutMs);
    } catch (err) {
      return { retry: `failed to request the cluster-info ConfigMap from ${server}: ${messageOf(err)}` };
    }
    if (info.signatures[`${JWS_PREFIX}${tokenId}`]) return info;
    if (Object.keys(info.signatures).length === 0) {
      return {
        retry: `the cluster-info ConfigMap at ${server} has no JWS signature at all, none for token ID "${tokenId}" (is the controller-manager's bootstrapsigner running?)`,
      };
    }
    return { retry: `could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}": the token is unknown or expired` };
  });
}

/** kubeadm's token.RetrieveValidatedConfigInfo. */
export async function discoverWithToken(d: TokenDiscovery, options: DiscoveryOptions): Promise<DiscoveredCluster> {
  const token = parseToken(d.token);
  if (!token) throw new DiscoveryError(`the bootstrap token "${d.token}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`, { field: '--token' });
  const endpointURL = `https://${d.endpoint}`;
  options.progress(`Requesting the cluster-info ConfigMap from ${endpointURL} without trust, to check its signature for token ID "${token.id}"`);
  const insecure = await signedClusterInfo(endpointURL, undefined, token.id, options);
  if (!insecure.kubeconfig) {
    throw new DiscoveryError(`there is no kubeconfig key in the cluster-info ConfigMap at ${endpointURL}`, {
      hint: "this API server isn't set up for token bootstrapping",
    });
  }
  if (!verifyDetachedJWS(insecure.signatures[`${JWS_PREFIX}${token.id}`]!, insecure.kubeconfig, token.id, token.secret)) {
    throw new DiscoveryError("failed to verify JWS signature of received cluster info object, can't trust this API Server", {
      field: '--token',
      hint: `the secret of token "${token.id}" does not match the cluster's; check the token printed by init or "kubestrap token create"`,
    });
  }
  const cluster = clusterOfKubeconfig(insecure.kubeconfig, 'the cluster-info ConfigMap');
  if (!cluster.caPem) throw new DiscoveryError('the kubeconfig in the cluster-info ConfigMap has no certificate-authority-data');
  if (d.caCertHashes.length === 0) {
    options.progress(`Cluster info signature and contents are valid and no TLS pinning was specified, will use API Server "${d.endpoint}"`);
    return { server: cluster.server, caPem: cluster.caPem };
  }
  const pins = d.caCertHashes.map(normalizePin);
  const found = bundleHashes(cluster.caPem);
  if (!found.some((h) => pins.includes(h))) {
    throw new DiscoveryError(
      `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys ${found.map((h) => `"${h}"`).join(', ')} are pinned (expected ${pins.join(' or ')})`,
      { field: '--discovery-token-ca-cert-hash', hint: "check the hash printed by init, or compute it from the control plane's pki/ca.crt" },
    );
  }
  options.progress(`Requesting info from "${d.endpoint}" again to validate TLS against the pinned public key`);
  const secure = await signedClusterInfo(endpointURL, cluster.caPem, token.id, options);
  if (secure.kubeconfig !== insecure.kubeconfig) {
    throw new DiscoveryError('the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first');
  }
  options.progress(`Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "${d.endpoint}"`);
  return { server: cluster.server, caPem: cluster.caPem };
}

/** A discovery file's text: read from disk, or fetched from an https URL (kubeadm's discovery/https, system trust). */
async function discoveryFileText(location: string, options: DiscoveryOptions): Promise<string> {
  if (!location.startsWith('https://')) {
    try {
      return await readFile(location, 'utf8');
    } catch (err) {
      throw new DiscoveryError(`cannot read the discovery file: ${messageOf(err)}`, { file: location, field: '--discovery-file', cause: err });
    }
  }
  return untilDiscovered(location, options, async (timeoutMs) => {
    try {
      const res = await fetch(location, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return { retry: `GET ${location}: HTTP ${res.status}` };
      return await res.text();
    } catch (err) {
      return { retry: `GET ${location}: ${messageOf((err as { cause?: unknown }).cause ?? err)}` };
    }
  });
}

/**
 * kubeadm's file.ValidateConfigInfo: the file names the cluster and CA (and maybe credentials); its
 * TLS is proven by reading cluster-info with them (403 is fine: the TLS handshake succeeded), and a
 * CA the file lacks is taken from there.
 */
export async function discoverFromFile(location: string, options: DiscoveryOptions): Promise<DiscoveredCluster> {
  const text = await discoveryFileText(location, options);
  const cluster = clusterOfKubeconfig(text, location);
  let credentials: DiscoveredCluster['credentials'];
  try {
    const full = await parseKubeconfig(text, location, (p) => readFile(p, 'utf8'));
    if (full.token || full.clientCertPem) credentials = { token: full.token, clientCertPem: full.clientCertPem, clientKeyPem: full.clientKeyPem };
    cluster.caPem ??= full.caPem;
  } catch {
    // no current context or user: a cluster-only file, used unauthenticated (as kubeadm)
  }
  if (!cluster.caPem)
    throw new DiscoveryError('the discovery kubeconfig has no certificate-authority(-data) for its cluster', { file: location, field: 'clusters' });
  options.progress(`Requesting the cluster-info ConfigMap from ${cluster.server} with the CA of ${location}`);
  const caPem = cluster.caPem;
  await untilDiscovered(cluster.server, options, async (timeoutMs) => {
    try {
      return await getClusterInfo(cluster.server, caPem, timeoutMs, credentials);
    } catch (err) {
      if ((err as { status?: number }).status === 403) return undefined; // the TLS handshake proved the CA
      return { retry: `failed to request the cluster-info ConfigMap from ${cluster.server}: ${messageOf(err)}` };
    }
  });
  return { server: cluster.server, caPem, credentials };
}
