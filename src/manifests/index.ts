/** Static Pod manifests of the control plane: what other modules (phases, agent, tests) use. */
export { renderControlPlaneManifests, renderManifests, writeManifest, manifestPath } from './render.js';
export type { RenderedManifest, RenderOptions } from './render.js';
export { parseManifestCommand, parseFlags } from './command.js';
export type { ManifestCommand } from './command.js';
export { validatePod } from './validate.js';
export { ALL_COMPONENTS, CONTROL_PLANE_COMPONENTS } from './spec.js';
export type { ComponentName, ControlPlaneComponent } from './spec.js';
export { etcdClientURL, etcdPeerURL } from './components.js';
export type { EtcdPeer } from './components.js';
