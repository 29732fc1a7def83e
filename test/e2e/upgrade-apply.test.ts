/**
 * `kubestrap upgrade apply` on the process runtime (test/support/upgrade-apply-scenario.ts): a
 * one-node cluster of the previous minor; the target's binaries are staged in the rootfs' image
 * store with a kube-apiserver that exits 1 first (automatic rollback), then the real one (a rerun
 * of the same command upgrades the four components).
 */
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IMAGES_DIR, parseImage } from '../../src/images/binary.js';
import { componentsOf } from '../support/components.js';
import { stageImageBinaries } from '../support/image-binaries.js';
import { buildCli, containerProcess, forceCleanup, INIT_PORTS } from '../support/init-e2e.js';
import { waitPortsFree } from '../support/proc.js';
import { applyScenario } from '../support/upgrade-apply-scenario.js';
import { UPGRADE_FROM, UPGRADE_TO, upgradeSkipReason } from '../support/upgrade-scenario.js';

const NODE = 'upgrade-apply';
const BROKEN_LINE = 'kubestrap-test: this kube-apiserver is broken on purpose and exits 1';

test(
  `upgrade apply ${UPGRADE_FROM.version} → ${UPGRADE_TO.version} on the process runtime, with a rollback`,
  { skip: upgradeSkipReason(), timeout: 30 * 60_000 },
  async (t) => {
    t.diagnostic(await buildCli());
    await waitPortsFree([...INIT_PORTS], 120_000);
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-apply-'));
    t.after(async () => {
      const notes = await forceCleanup(rootfs);
      if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
    });
    await stageImageBinaries(rootfs, componentsOf(UPGRADE_FROM.version));
    const target = componentsOf(UPGRADE_TO.version);
    await applyScenario(t, {
      rootfs,
      node: NODE,
      runtimeFlags: ['--runtime', 'process'],
      brokenLine: BROKEN_LINE,
      container: async (name) => {
        const p = await containerProcess(rootfs, name);
        return p && { id: String(p.pid), args: p.args };
      },
      provideBrokenTarget: async () => {
        await stageImageBinaries(rootfs, target);
        const { repository, tag } = parseImage(target.images['kube-apiserver'].ref);
        const program = path.join(rootfs, IMAGES_DIR, repository, tag, 'kube-apiserver');
        await rm(program, { force: true });
        await mkdir(path.dirname(program), { recursive: true });
        await writeFile(program, `#!/bin/sh\necho "${BROKEN_LINE}" >&2\nexit 1\n`);
        await chmod(program, 0o755);
      },
      fixTarget: async () => {
        await stageImageBinaries(rootfs, target);
      },
    });
  },
);
