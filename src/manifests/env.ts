/** Container environment as kubeadm builds it (cmd/kubeadm/app/util/env.go). */
import type { EnvVar } from '../config/types.js';

/** `*_proxy` variables (any case) with a value, so components reach the network like kubestrap does. */
export function proxyEnvVars(environment: Readonly<Record<string, string | undefined>>): EnvVar[] {
  return Object.entries(environment)
    .filter((e): e is [string, string] => e[0].toLowerCase().endsWith('_proxy') && !!e[1])
    .map(([name, value]) => ({ name, value }));
}

/** Later lists win on the same name; the result is sorted by name. */
export function mergeEnvVars(...lists: readonly (readonly EnvVar[])[]): EnvVar[] {
  const merged = new Map<string, EnvVar>();
  for (const list of lists) for (const env of list) merged.set(env.name, { name: env.name, value: env.value });
  return [...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
