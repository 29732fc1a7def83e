/**
 * `kubestrap upgrade apply` on the cri runtime (test/support/upgrade-apply-scenario.ts): a private
 * containerd with the previous minor's images; the target's images are imported with, first, a
 * kube-apiserver image of the target's tag whose program is the test's ks-http (run with
 * kube-apiserver's flags it prints its usage and exits 1: automatic rollback), then the real one
 * (a rerun of the same command upgrades the four components).
 */
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeImage } from '../../src/images/oci.js';
import { componentsOf, DEFAULT_IMAGES } from '../support/components.js';
import { startContainerd } from '../support/containerd.js';
import { runningContainer } from '../support/cri-containers.js';
import { httpImage } from '../support/http-image.js';
import { buildCli, forceCleanup, INIT_PORTS } from '../support/init-e2e.js';
import { waitPortsFree } from '../support/proc.js';
import { applyScenario } from '../support/upgrade-apply-scenario.js';
import { UPGRADE_FROM, UPGRADE_TO, upgradeSkipReason } from '../support/upgrade-scenario.js';

const NODE = 'upgrade-apply-cri';

test(
  `upgrade apply ${UPGRADE_FROM.version} → ${UPGRADE_TO.version} on the cri runtime, with a rollback`,
  { skip: upgradeSkipReason(), timeout: 30 * 60_000 },
  async (t) => {
    t.diagnostic(await buildCli());
    await waitPortsFree([...INIT_PORTS], 120_000);
    const ctrd = await startContainerd({ components: componentsOf(UPGRADE_FROM.version) });
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-apply-cri-'));
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'kubestrap-upgrade-apply-cri-image-'));
    t.after(async () => {
      await rm(scratch, { recursive: true, force: true });
      const notes = await forceCleanup(rootfs);
      if (notes.length > 0) t.diagnostic(`cleanup: ${notes.join('; ')}`);
      await ctrd.stop();
    });
    t.diagnostic(`private containerd ${ctrd.versionLine} at ${ctrd.endpoint} (${ctrd.snapshotter})`);
    const target = componentsOf(UPGRADE_TO.version);
    await applyScenario(t, {
      rootfs,
      node: NODE,
      runtimeFlags: ['--runtime', 'cri', '--cri-socket', ctrd.endpoint],
      brokenLine: 'ks-http: usage: ks-http serve',
      container: (name) => runningContainer(ctrd, NODE, name),
      provideBrokenTarget: async () => {
        for (const name of DEFAULT_IMAGES) if (name !== 'kube-apiserver') await ctrd.importImage(target.images[name].tarball);
        const program = await readFile((await httpImage()).binary);
        const tarball = path.join(scratch, 'broken-kube-apiserver.oci.tar');
        await writeImage(
          {
            ref: target.images['kube-apiserver'].ref,
            files: [{ path: '/usr/local/bin/kube-apiserver', mode: 0o755, content: program }],
            config: { env: ['PATH=/usr/local/bin:/usr/bin:/bin'] },
          },
          tarball,
        );
        await ctrd.importImage(tarball);
      },
      fixTarget: async () => {
        await ctrd.importImage(target.images['kube-apiserver'].tarball);
      },
    });
  },
);
