/**
 * Builds the agent's API side (MirrorSync) from its configuration, with the facts a kubelet would
 * report about itself: the Kubernetes version it belongs to, the runtime's version, the node IP and
 * its endpoint port.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { DEFAULT_KUBERNETES_VERSION } from '../config/versions.js';
import { messageOf } from '../errors.js';
import { readPackageFile } from '../util/package-files.js';
import type { ApiSync } from './agent.js';
import type { MirrorSync } from './mirror/index.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './log.js';
import type { NodeCredentials } from './tls/credentials.js';
import type { PodState, StaticPod } from './pod-types.js';
import { parseImage } from '../images/binary.js';
import { probeStatus } from '../net/http-probe.js';
import { defaultNodeIP } from '../net/node-ip.js';

/** The version in package.json (what `kubestrap-process://<version>` reports). */
export async function kubestrapVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(readPackageFile('package.json').toString('utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The control-plane version: the tag of the kube-apiserver static pod's image. The node reports it
 * as kubeletVersion so version-skew checks see a node of the cluster's own version.
 */
export function controlPlaneVersion(pods: readonly StaticPod[]): string | undefined {
  for (const p of pods) {
    for (const c of p.pod.spec?.containers ?? []) {
      if (!c.image) continue;
      const { repository, tag } = parseImage(c.image);
      if (repository.endsWith('/kube-apiserver') && /^v\d+\.\d+\.\d+/.test(tag)) return tag;
    }
  }
  return undefined;
}

/** nodeInfo.containerRuntimeVersion: `<runtimeName>://<version>` from CRI Version, as the kubelet does. */
export async function containerRuntimeVersion(config: AgentConfig, logger: Logger): Promise<string> {
  if (config.runtime === 'process') return `kubestrap-process://${await kubestrapVersion()}`;
  const { criClient } = await import('../cri/client.js');
  const client = criClient(config.containerRuntimeEndpoint, { timeoutMs: 10_000 });
  try {
    const v = await client.runtime.version({ version: '0.1.0' });
    return `${v.runtimeName}://${v.runtimeVersion}`;
  } catch (err) {
    logger.warn('cannot read the CRI runtime version', { error: messageOf(err) });
    return 'unknown://unknown';
  } finally {
    client.close();
  }
}

/**
 * The kubeconfig's server URL (the bootstrap kubeconfig's while kubelet.conf is not written yet),
 * read once per use with a plain text match: the YAML parser (and client-node) are not needed for
 * one field.
 */
async function kubeconfigServer(config: AgentConfig): Promise<URL | undefined> {
  for (const file of [config.kubeconfig, config.bootstrapKubeconfig]) {
    if (!file) continue;
    const text = await config.host.readText(file).catch(() => '');
    const server = /^\s*server:\s*(\S+)/m.exec(text)?.[1]?.replace(/^["']|["']$/g, '');
    if (server && URL.canParse(server)) return new URL(server);
  }
  return undefined;
}

/**
 * --node-ip; else, when the kubeconfig's server is an IP: that IP if it is this host's own (the
 * control-plane node's advertise address), otherwise the local address the route to it uses (a
 * worker's); else the host's first IPv4.
 */
export async function nodeIP(config: AgentConfig): Promise<string> {
  if (config.nodeIP) return config.nodeIP;
  // behind the node-local balancer the kubeconfig names 127.0.0.1: the address toward a real API server is the node's
  const seed = config.apiLbSeeds?.[0]?.host;
  const hostname = seed ?? (await kubeconfigServer(config))?.hostname.replace(/^\[|\]$/g, '') ?? '';
  if (isIP(hostname) !== 0 && hostname !== '0.0.0.0' && hostname !== '::') {
    if (localAddresses().has(hostname)) return hostname;
    return (await sourceAddressTo(hostname)) ?? defaultNodeIP();
  }
  return defaultNodeIP();
}

function localAddresses(): Set<string> {
  return new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((a) => a?.address ?? ''),
  );
}

/** The source address the kernel picks for `ip` (a connected UDP socket: no packet is sent). */
function sourceAddressTo(ip: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(ip) === 6 ? 'udp6' : 'udp4');
    socket.on('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.connect(9, ip, () => {
      const address = socket.address().address;
      socket.close();
      resolve(address);
    });
  });
}

export interface ApiSyncInput {
  config: AgentConfig & { kubeconfig: string };
  logger: Logger;
  nodeIP: string;
  /** The desired static pods now (for the control-plane version, read at every Node status report). */
  desired: () => readonly StaticPod[];
  states: () => PodState[];
  onChange: (cb: (state: PodState) => void) => () => void;
  sourcesReady: () => boolean;
  /** With --bootstrap-kubeconfig: the API side waits for these and reloads on a rotation; stopped with it. */
  credentials?: Pick<NodeCredentials, 'ready' | 'onRotated' | 'stop'>;
}

type MirrorModule = typeof import('./mirror/index.js');

/** The kubeconfig server's /readyz. */
async function readyzURL(config: AgentConfig): Promise<URL | undefined> {
  const server = await kubeconfigServer(config);
  return server ? new URL('/readyz', server) : undefined;
}

/**
 * The API side, started lazily. MirrorSync's module (with @kubernetes/client-node, ≈ 0.2 s of CPU to
 * load) is loaded once the kubeconfig's API server answers at all — it then runs its post-start
 * hooks, which leave the CPU mostly idle for about a second — and MirrorSync starts once the server
 * says it is ready. Registering the node and creating the mirror pods while kube-apiserver is still
 * starting (requests failing and retried, a TLS handshake each) slowed that start-up by ≈ 0.5 s on
 * two cores (bench:init); after readiness the mirrors still appear within ≈ 0.5 s of it.
 * Readiness is read without credentials: 200 means ready; 401 means anonymous requests are off, so
 * it cannot be seen and the client starts at once (and retries); any other answer for
 * API_READY_GRACE_MS also lets it start, so an RBAC that forbids anonymous /readyz only delays the
 * mirror pods. The client itself verifies the server with the kubeconfig's CA.
 */
class LazyMirrorSync implements ApiSync {
  private readonly abort = new AbortController();
  private inner: MirrorSync | undefined;
  private starting: Promise<void> | undefined;
  private unsubscribe?: () => void;

  constructor(private readonly input: ApiSyncInput) {}

  start(): void {
    this.starting ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.input.logger.warn('mirror sync did not start', { component: 'mirror-sync', error: messageOf(err) });
    });
  }

  /** Resolves when the API server is ready (see above); `onAnswer` runs when it first answers. */
  private async waitReady(signal: AbortSignal, onAnswer: () => void): Promise<void> {
    const url = await readyzURL(this.input.config);
    if (url === undefined) return; // no usable URL: let the client report it
    let answeringSince: number | undefined;
    for (;;) {
      signal.throwIfAborted();
      const status = await probeStatus(url, 1000);
      if (status === 200 || status === 401) return;
      if (status !== undefined) {
        if (answeringSince === undefined) {
          answeringSince = Date.now();
          onAnswer();
        } else if (Date.now() - answeringSince >= API_READY_GRACE_MS) return;
      }
      await new Promise((r) => setTimeout(r, API_PROBE_MS));
    }
  }

  private async run(): Promise<void> {
    const { config, logger } = this.input;
    const signal = this.abort.signal;
    const credentials = this.input.credentials;
    if (credentials) {
      await Promise.race([credentials.ready, new Promise((r) => signal.addEventListener('abort', r))]);
      signal.throwIfAborted();
      this.unsubscribe = credentials.onRotated(() => this.inner?.credentialsChanged());
    }
    // Loaded only with --kubeconfig: @kubernetes/client-node alone is ≈ 60 MB of the agent's RSS.
    let loading: Promise<MirrorModule> | undefined;
    const load = (): Promise<MirrorModule> => (loading ??= import('./mirror/index.js'));
    await this.waitReady(signal, () => void load().catch(() => undefined));
    signal.throwIfAborted();
    const { MirrorSync } = await load();
    const runtimeVersion = await containerRuntimeVersion(config, logger);
    signal.throwIfAborted();
    this.inner = new MirrorSync({
      kubeconfig: config.kubeconfig,
      host: config.host,
      nodeName: config.nodeName,
      nodeIP: this.input.nodeIP,
      logger,
      states: this.input.states,
      onChange: this.input.onChange,
      sourcesReady: this.input.sourcesReady,
      kubeletVersion: () => controlPlaneVersion(this.input.desired()) ?? DEFAULT_KUBERNETES_VERSION,
      containerRuntimeVersion: runtimeVersion,
      // where the API server finds the kubelet API (logs); the read-only port when that is off
      kubeletPort: config.kubeletPort || config.readOnlyPort,
      registerTaints: config.registerTaints,
    });
    this.inner.start();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.unsubscribe?.();
    await this.input.credentials?.stop();
    await this.starting;
    await this.inner?.stop();
  }
}

/** How often the API server's /readyz is probed before MirrorSync is built. */
const API_PROBE_MS = 100;
/** How long an API server that answers but never says ready (to anonymous requests) is waited for. */
const API_READY_GRACE_MS = 10_000;

export function createMirrorSync(input: ApiSyncInput): ApiSync {
  return new LazyMirrorSync(input);
}
