/**
 * Builds the agent's API side (MirrorSync) from its configuration, with the facts a kubelet would
 * report about itself: the Kubernetes version it belongs to, the runtime's version, the node IP and
 * its endpoint port.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { DEFAULT_KUBERNETES_VERSION } from '../config/versions.js';
import { messageOf } from '../errors.js';
import type { MirrorSync } from './mirror/index.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './log.js';
import type { PodState, StaticPod } from './pod-types.js';
import { parseImage } from './runtime/process/binary.js';
import { defaultNodeIP } from './workers/index.js';

/** The version in package.json (what `kubestrap-process://<version>` reports). */
export async function kubestrapVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
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

/** --node-ip, else the kubeconfig server's address when it is an IP (the advertise address), else the host's first IPv4. */
export async function nodeIP(config: AgentConfig): Promise<string> {
  if (config.nodeIP) return config.nodeIP;
  if (config.kubeconfig) {
    const text = await config.host.readText(config.kubeconfig).catch(() => '');
    const server = /^\s*server:\s*(\S+)/m.exec(text)?.[1];
    const hostname = server && URL.canParse(server) ? new URL(server).hostname.replace(/^\[|\]$/g, '') : '';
    if (isIP(hostname) !== 0 && hostname !== '0.0.0.0' && hostname !== '::') return hostname;
  }
  return defaultNodeIP();
}

export interface ApiSyncInput {
  config: AgentConfig & { kubeconfig: string };
  logger: Logger;
  nodeIP: string;
  /** The desired static pods (for the control-plane version). */
  desired: readonly StaticPod[];
  states: () => PodState[];
  onChange: (cb: (state: PodState) => void) => () => void;
  sourcesReady: () => boolean;
}

export async function createMirrorSync(input: ApiSyncInput): Promise<MirrorSync> {
  const { config } = input;
  // Loaded only with --kubeconfig: @kubernetes/client-node alone is ≈ 60 MB of the agent's RSS.
  const { MirrorSync } = await import('./mirror/index.js');
  return new MirrorSync({
    kubeconfig: config.kubeconfig,
    host: config.host,
    nodeName: config.nodeName,
    nodeIP: input.nodeIP,
    logger: input.logger,
    states: input.states,
    onChange: input.onChange,
    sourcesReady: input.sourcesReady,
    kubeletVersion: controlPlaneVersion(input.desired) ?? DEFAULT_KUBERNETES_VERSION,
    containerRuntimeVersion: await containerRuntimeVersion(config, input.logger),
    kubeletPort: config.readOnlyPort,
  });
}
