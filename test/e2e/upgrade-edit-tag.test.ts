/**
 * The edit-the-image-tag upgrade on the process runtime (test/support/upgrade-scenario.ts): a
 * one-node `kubestrap init` cluster of the previous minor, the target's binaries linked into the
 * rootfs' image store only after a tag that is not present yet has been tried, then etcd and the
 * three Kubernetes components edited to the newest row's tags, the API's unavailable time printed.
 * A worker (a test bed node with the previous minor's kubelet, test/support/upgrade-worker.ts) is
 * joined first: its pod must keep running, untouched and answering, throughout the edits.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { componentsOf } from '../support/components.js';
import { stageImageBinaries } from '../support/image-binaries.js';
import { buildCli, containerProcess, forceCleanup, INIT_PORTS } from '../support/init-e2e.js';
import { waitPortsFree } from '../support/proc.js';
import { startUpgradeWorker } from '../support/upgrade-worker.js';
import { editTagScenario, UPGRADE_FROM, UPGRADE_TO, upgradeSkipReason } from '../support/upgrade-scenario.js';

const NODE = 'upgrade-process';

test(
  `edit-tag upgrade ${UPGRADE_FROM.version} → ${UPGRADE_TO.version} on the process runtime`,
  { skip: upgradeSkipReason(), timeout: 20 * 60_000 },
  async (t) => {
    t.diagnostic(await buildCli());
    await waitPortsFree([...INIT_PORTS], 120_000);
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-process-'));
    const worker = await startUpgradeWorker();
    t.after(async () => {
      // the control plane first: it advertises the bed bridge's address, which the bed's stop removes
      const notes = await forceCleanup(rootfs);
      if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
      const left = await worker.stop();
      if (left.length > 0) t.diagnostic(`worker bed left: ${left.join('; ')}`);
    });
    await stageImageBinaries(rootfs, componentsOf(UPGRADE_FROM.version));

    await editTagScenario(t, {
      rootfs,
      node: NODE,
      runtimeFlags: ['--runtime', 'process'],
      worker,
      container: async (name) => {
        const p = await containerProcess(rootfs, name);
        return p && { id: String(p.pid), args: p.args };
      },
      provideTarget: async () => {
        await stageImageBinaries(rootfs, componentsOf(UPGRADE_TO.version));
      },
    });
  },
);
