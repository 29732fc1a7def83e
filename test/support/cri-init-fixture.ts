/**
 * What every `kubestrap init --runtime cri` e2e test starts from: the CLI built, the control-plane
 * ports free, a private containerd and a fresh --rootfs, torn down in that order's reverse (reset
 * first, while containerd still answers; then containerd removes whatever is left).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { componentsReady } from './components.js';
import { startContainerd, type PrivateContainerd } from './containerd.js';
import { buildCli, forceCleanup, INIT_PORTS } from './init-e2e.js';
import { waitPortsFree } from './proc.js';

/** Why a CRI init test cannot run here, or false. */
export function criInitSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (containerd, fixed ports)';
  if (!componentsReady()) return 'components not prepared: npm run prepare:components';
  return false;
}

export async function criInitFixture(t: TestContext, name: string): Promise<{ ctrd: PrivateContainerd; rootfs: string }> {
  t.diagnostic(await buildCli());
  await waitPortsFree([...INIT_PORTS], 120_000);
  const ctrd = await startContainerd();
  const rootfs = mkdtempSync(path.join(os.tmpdir(), `kubestrap-${name}-`));
  t.after(async () => {
    const notes = await forceCleanup(rootfs);
    if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
    await ctrd.stop();
  });
  return { ctrd, rootfs };
}
