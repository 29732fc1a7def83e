/** `init phase etcd local`: the static Pod manifest of a single-member local etcd (kubeadm's phases/etcd). */
import { renderManifests, writeManifest, type RenderedManifest } from '../../manifests/index.js';
import type { InitContext } from './context.js';
import type { Phase } from '../runner.js';

const LOCAL = 'etcd/local';

async function render(ctx: InitContext): Promise<RenderedManifest> {
  const manifests = await renderManifests(ctx.config, ctx.host, ['etcd']);
  return manifests.get('etcd')!;
}

const localPhase: Phase<InitContext> = {
  name: 'local',
  help: 'Generate the static Pod manifest file for a local, single-node local etcd instance',
  async prepare(ctx) {
    if (ctx.config.cluster.etcd.external) return;
    ctx.prepared.set(LOCAL, await render(ctx));
  },
  async run(ctx) {
    const { config, host, out } = ctx;
    const local = config.cluster.etcd.local;
    if (config.cluster.etcd.external || !local) {
      out.line('etcd', 'External etcd mode: skipping the creation of a manifest for local etcd');
      return;
    }
    const manifest = (ctx.prepared.get(LOCAL) as RenderedManifest | undefined) ?? (await render(ctx));
    if (ctx.dryRun) out.line('etcd', `Would ensure that "${local.dataDir}" directory is present`);
    // etcd's data is the cluster's state: only root may read it.
    await host.mkdir(local.dataDir, 0o700);
    out.line('etcd', `Creating static Pod manifest for local etcd in "${config.paths.manifestsDir}"`);
    await writeManifest(host, config, manifest);
  },
};

export const etcdPhase: Phase<InitContext> = {
  name: 'etcd',
  help: 'Generate static Pod manifest file for local etcd',
  phases: [localPhase],
};
