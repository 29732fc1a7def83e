/**
 * The agent runtime of a node, decided once per run: `--runtime` when given, else cri when the CRI
 * socket exists (kubeadm's DetectCRISocket looks for the socket the same way), else process.
 * Preflight checks what this choice needs, and the agent phase starts the agent with it; before,
 * each decided on its own and a stale socket made them disagree.
 */
import { access } from 'node:fs/promises';
import type { ResolvedConfig, RuntimeKind } from '../config/types.js';
import type { RuntimeDecision } from './data.js';

/** Host path of a `unix://` CRI endpoint (kubeadm accepts a bare path too). */
export function criSocketPath(endpoint: string): string {
  return endpoint.startsWith('unix://') ? endpoint.slice('unix://'.length) : endpoint;
}

/**
 * The CRI socket is a real path even under --rootfs: containerd is the machine's (or a test's
 * private one), and the agent dials the endpoint as given (src/agent/config.ts).
 */
export const socketExists = (socket: string): Promise<boolean> =>
  access(socket).then(
    () => true,
    () => false,
  );

export async function decideRuntime(config: ResolvedConfig, forced: RuntimeKind | undefined): Promise<RuntimeDecision> {
  if (forced) return { kind: forced, why: 'as --runtime says' };
  const endpoint = config.init.nodeRegistration.criSocket;
  return (await socketExists(criSocketPath(endpoint)))
    ? { kind: 'cri', why: `the CRI socket ${endpoint} exists` }
    : { kind: 'process', why: `no CRI socket at ${endpoint}` };
}
