/** Builds the runtime an agent (or reset) uses for a node. */
import type { Host } from '../../host/host.js';
import { CriRuntime } from './cri.js';
import { ProcessRuntime } from './process.js';
import type { Runtime, RuntimeName } from './types.js';

export interface RuntimeChoice {
  runtime: RuntimeName;
  host: Host;
  nodeName: string;
  /** CRI endpoint (cri runtime only). */
  endpoint?: string;
}

export function createRuntime(choice: RuntimeChoice): Runtime {
  return choice.runtime === 'process'
    ? new ProcessRuntime(choice.host)
    : new CriRuntime({ host: choice.host, nodeName: choice.nodeName, endpoint: choice.endpoint });
}
