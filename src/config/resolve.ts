// Placeholder until the config module lands: load → default → validate → ResolvedConfig.
import type { InitFlags } from './flags.js';
import type { ResolvedConfig } from './types.js';

export async function resolveInitConfig(flags: InitFlags): Promise<ResolvedConfig> {
  void flags;
  throw new Error('resolveInitConfig: not implemented yet');
}
