import type { ResolvedConfig, RuntimeKind } from '../../config/types.js';
import type { Host } from '../../host/host.js';
import type { Printer } from '../../output.js';

/** What every init phase gets. Phases share results only through files on the host, like kubeadm's. */
export interface InitContext {
  config: ResolvedConfig;
  host: Host;
  out: Printer;
  dryRun: boolean;
  /** The agent runtime chosen for this node (the agent phase decides when not given). */
  runtime?: RuntimeKind;
  /** `--upload-certs`. */
  uploadCerts: boolean;
  /**
   * Scratch space a phase's `prepare` fills for its own `run` (e.g. rendered manifests), keyed by
   * phase path. Nothing else reads it.
   */
  prepared: Map<string, unknown>;
}
