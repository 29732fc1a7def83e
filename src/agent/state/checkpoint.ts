/**
 * The agent's checkpoint: per pod UID, what it started (sandbox, container refs, restart counts),
 * written atomically through Host so a kill -9 at any moment leaves a whole file. After a restart
 * it is cross-checked with what the runtime still runs (the runtime is the ground truth).
 */
import { readdir, rm } from 'node:fs/promises';
import type { Host } from '../../host/host.js';
import type { ContainerRef } from '../runtime/types.js';
import type { OrderInfo } from '../start-order.js';

export const DEFAULT_STATE_DIR = '/var/lib/kubestrap/agent';

export interface ContainerCheckpoint {
  name: string;
  init: boolean;
  restartCount: number;
  /** The current (running or last) container of this name. */
  ref?: ContainerRef;
  /** Init containers: finished with exit 0. */
  completed?: boolean;
}

export interface PodCheckpoint {
  uid: string;
  hash: string;
  name: string;
  namespace: string;
  /** Grace period to use when stopping it without its manifest (pod removed while the agent was down). */
  graceSeconds: number;
  sandboxId?: string;
  containers: ContainerCheckpoint[];
  /** What the stop order needs when the manifest is gone (src/agent/start-order.ts); absent in older checkpoints. */
  order?: OrderInfo;
}

export class CheckpointStore {
  constructor(
    private readonly host: Host,
    private readonly dir: string = DEFAULT_STATE_DIR,
  ) {}

  private file(uid: string): string {
    return `${this.dir}/pods/${uid}.json`;
  }

  async save(cp: PodCheckpoint): Promise<void> {
    await this.host.writeFile(this.file(cp.uid), `${JSON.stringify(cp, null, 1)}\n`, 0o600);
  }

  async remove(uid: string): Promise<void> {
    await rm(this.host.path(this.file(uid)), { force: true });
  }

  /** Every readable checkpoint; a corrupt one is skipped (the runtime's view still catches its containers). */
  async list(): Promise<PodCheckpoint[]> {
    let names: string[];
    try {
      names = await readdir(this.host.path(`${this.dir}/pods`));
    } catch {
      return [];
    }
    const out: PodCheckpoint[] = [];
    for (const n of names) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      try {
        out.push(JSON.parse(await this.host.readText(`${this.dir}/pods/${n}`)) as PodCheckpoint);
      } catch {
        // unreadable: ignored
      }
    }
    return out;
  }
}
