/**
 * The edit-the-image-tag upgrade on the cri runtime (test/support/upgrade-scenario.ts): a private
 * containerd holding only the previous minor's images, a one-node `kubestrap init` cluster on it;
 * the target's images are imported only after a tag that is not present yet has been tried. A
 * joined worker's pod keeps running throughout (test/support/upgrade-worker.ts).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { componentsOf, DEFAULT_IMAGES } from '../support/components.js';
import { startContainerd } from '../support/containerd.js';
import { runningContainer } from '../support/cri-containers.js';
import { buildCli, forceCleanup, INIT_PORTS } from '../support/init-e2e.js';
import { waitPortsFree } from '../support/proc.js';
import { startUpgradeWorker } from '../support/upgrade-worker.js';
import { editTagScenario, UPGRADE_FROM, UPGRADE_TO, upgradeSkipReason } from '../support/upgrade-scenario.js';

const NODE = 'upgrade-cri';

test(`edit-tag upgrade ${UPGRADE_FROM.version} → ${UPGRADE_TO.version} on the cri runtime`, { skip: upgradeSkipReason(), timeout: 20 * 60_000 }, async (t) => {
  t.diagnostic(await buildCli());
  await waitPortsFree([...INIT_PORTS], 120_000);
  const ctrd = await startContainerd({ components: componentsOf(UPGRADE_FROM.version) });
  const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-cri-'));
  const worker = await startUpgradeWorker();
  t.after(async () => {
    // the control plane first: it advertises the bed bridge's address, which the bed's stop removes
    const notes = await forceCleanup(rootfs);
    if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
    await ctrd.stop();
    const left = await worker.stop();
    if (left.length > 0) t.diagnostic(`worker bed left: ${left.join('; ')}`);
  });
  t.diagnostic(`private containerd ${ctrd.versionLine} at ${ctrd.endpoint} (${ctrd.snapshotter})`);

  await editTagScenario(t, {
    rootfs,
    node: NODE,
    runtimeFlags: ['--runtime', 'cri', '--cri-socket', ctrd.endpoint],
    worker,
    container: (name) => runningContainer(ctrd, NODE, name),
    missingTagEdit: { imagePullPolicy: 'Never' },
    provideTarget: async () => {
      const target = componentsOf(UPGRADE_TO.version);
      for (const name of DEFAULT_IMAGES) await ctrd.importImage(target.images[name].tarball);
    },
  });
});
