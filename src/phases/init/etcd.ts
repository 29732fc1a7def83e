/** `init phase etcd local`: the static Pod manifest of a single-member local etcd (kubeadm's phases/etcd). */
import { renderManifests, writeManifest, type RenderedManifest } from '../../manifests/index.js';
import type { PhaseData } from '../data.js';
import type { Phase } from '../runner.js';
import { ScratchSlot } from '../scratch.js';

const rendered = new ScratchSlot<RenderedManifest>();

async function render(ctx: PhaseData): Promise<RenderedManifest> {
  const manifests = await renderManifests(ctx.config, ctx.host, ['etcd']);
  return manifests.get('etcd')!;
}

const localPhase: Phase<PhaseData> = {
  name: 'local',
  help: 'Generate the static Pod manifest file for a local, single-node local etcd instance',
  when: (ctx) => !ctx.config.cluster.etcd.external && ctx.config.cluster.etcd.local !== undefined,
  skipped: (ctx) => ctx.out.line('etcd', 'External etcd mode: skipping the creation of a manifest for local etcd'),
  async prepare(ctx, self) {
    rendered.set(ctx, self.path, await render(ctx));
  },
  async run(ctx, self) {
    const { config, host, out } = ctx;
    const dataDir = config.cluster.etcd.local!.dataDir;
    const manifest = rendered.get(ctx, self.path) ?? (await render(ctx));
    if (ctx.dryRun) out.line('etcd', `Would ensure that "${dataDir}" directory is present`);
    // etcd's data is the cluster's state: only root may read it.
    await host.mkdir(dataDir, 0o700);
    out.line('etcd', `Creating static Pod manifest for local etcd in "${config.paths.manifestsDir}"`);
    await writeManifest(host, config, manifest);
  },
};

export const etcdPhase: Phase<PhaseData> = {
  name: 'etcd',
  help: 'Generate static Pod manifest file for local etcd',
  phases: [localPhase],
};
