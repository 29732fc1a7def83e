/**
 * kubeadm's manageSkippedAddons (cmd/kubeadm/app/cmd/init.go): skipping an addon phase marks the
 * addon disabled in the ClusterConfiguration (which upload-config then stores), and a disabled addon
 * skips its phase — so `--skip-phases addon/kube-proxy` and `proxy.disabled: true` mean the same.
 */
import type { ClusterConfiguration, InitConfiguration } from './types.js';

/** The init phase paths of the addons (src/phases/init/addon.ts). */
export const ADDON_PHASE_PATHS = { addon: 'addon', coredns: 'addon/coredns', kubeProxy: 'addon/kube-proxy' } as const;

/** `addon/all` is `addon`, surrounding slashes ignored: as the runner reads a skip path. */
function phasePath(p: string): string {
  const parts = p.split('/').filter(Boolean);
  if (parts.length > 1 && parts[parts.length - 1] === 'all') parts.pop();
  return parts.join('/');
}

export function syncSkippedAddons(init: InitConfiguration, cluster: ClusterConfiguration): void {
  const skipped = new Set(init.skipPhases.map(phasePath));
  const all = skipped.has(ADDON_PHASE_PATHS.addon);
  if (all || skipped.has(ADDON_PHASE_PATHS.coredns)) cluster.dns.disabled = true;
  else if (cluster.dns.disabled) init.skipPhases.push(ADDON_PHASE_PATHS.coredns);
  if (all || skipped.has(ADDON_PHASE_PATHS.kubeProxy)) cluster.proxy.disabled = true;
  else if (cluster.proxy.disabled) init.skipPhases.push(ADDON_PHASE_PATHS.kubeProxy);
}
