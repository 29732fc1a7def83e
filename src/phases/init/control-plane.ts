/** `init phase control-plane`: static Pod manifests of kube-apiserver, -controller-manager and -scheduler. */
import { loopbackWithoutEndpoints } from '../../manifests/components.js';
import { renderManifests, writeManifest, type ControlPlaneComponent, type RenderedManifest } from '../../manifests/index.js';
import type { PhaseData } from '../data.js';
import type { Phase } from '../runner.js';
import { ScratchSlot } from '../scratch.js';

const rendered = new ScratchSlot<RenderedManifest>();

/** Subphase name → component, in kubeadm's order. */
const SUBPHASES: readonly { name: string; component: ControlPlaneComponent }[] = [
  { name: 'apiserver', component: 'kube-apiserver' },
  { name: 'controller-manager', component: 'kube-controller-manager' },
  { name: 'scheduler', component: 'kube-scheduler' },
];

function subphase(name: string, component: ControlPlaneComponent): Phase<PhaseData> {
  const render = async (ctx: PhaseData): Promise<RenderedManifest> => (await renderManifests(ctx.config, ctx.host, [component])).get(component)!;
  return {
    name,
    help: `Generates the ${component} static Pod manifest`,
    async prepare(ctx, self) {
      rendered.set(ctx, self.path, await render(ctx));
    },
    async run(ctx, self) {
      const manifest = rendered.get(ctx, self.path) ?? (await render(ctx));
      ctx.out.line('control-plane', `Creating static Pod manifest for "${component}"`);
      if (component === 'kube-apiserver' && loopbackWithoutEndpoints(ctx.config)) {
        ctx.out.warn(
          'control-plane',
          `the advertise address ${ctx.config.advertiseAddress} is a loopback address: kube-apiserver runs with --endpoint-reconciler-type=none, so the "kubernetes" Service has no endpoints and pods cannot reach the API server; use a host address for a cluster that runs workloads`,
        );
      }
      await writeManifest(ctx.host, ctx.config, manifest);
    },
  };
}

/** Shared with join --control-plane and upgrade through PhaseData. */
export const controlPlanePhase: Phase<PhaseData> = {
  name: 'control-plane',
  help: 'Generate all static Pod manifest files necessary to establish the control plane',
  run(ctx) {
    ctx.out.line('control-plane', `Using manifest folder "${ctx.config.paths.manifestsDir}"`);
  },
  phases: SUBPHASES.map((s) => subphase(s.name, s.component)),
};
