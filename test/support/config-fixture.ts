/**
 * A ResolvedConfig for unit tests: node "cp1" advertising 127.0.0.1, kubeadm defaults otherwise.
 * Built by the real resolver (no file, no host lookups), so tests see what init would see.
 */
import type { InitFlags } from '../../src/config/flags.js';
import { deriveConfig, resolveDocumentsSync } from '../../src/config/resolve.js';
import type { ResolvedConfig } from '../../src/config/types.js';

export const TEST_TOKEN = 'abcdef.0123456789abcdef';

export function testConfig(overrides: Partial<InitFlags> = {}): ResolvedConfig {
  // With --config the file must name the node itself (kubeadm forbids mixing these flags with it).
  const base: InitFlags = overrides.config ? {} : { nodeName: 'cp1', apiserverAdvertiseAddress: '127.0.0.1', token: TEST_TOKEN };
  const flags: InitFlags = { ...base, ...overrides };
  const { init, cluster, file, componentConfigs } = resolveDocumentsSync(flags, { warn: () => {} });
  return deriveConfig(init, cluster, file, componentConfigs);
}
