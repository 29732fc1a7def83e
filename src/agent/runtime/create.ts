/** Builds the runtime an agent (or reset) uses for a node. */
import type { Host } from '../../host/host.js';
import type { Runtime, RuntimeName } from './types.js';

export interface RuntimeChoice {
  runtime: RuntimeName;
  host: Host;
  nodeName: string;
  /** CRI endpoint (cri runtime only). */
  endpoint?: string;
}

/**
 * Only the chosen runtime's module is loaded: the cri runtime brings gRPC and protobuf, which a
 * process-runtime agent would otherwise carry in its memory for nothing.
 */
export async function createRuntime(choice: RuntimeChoice): Promise<Runtime> {
  if (choice.runtime === 'process') {
    const { ProcessRuntime } = await import('./process.js');
    return new ProcessRuntime(choice.host);
  }
  const { CriRuntime } = await import('./cri.js');
  return new CriRuntime({ host: choice.host, nodeName: choice.nodeName, endpoint: choice.endpoint });
}
