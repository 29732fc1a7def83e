/**
 * kubeadm's defaulting of a component config: its defaults fill what the user's document leaves
 * empty (the user's fields win, leaf by leaf), and a user value that differs from what kubeadm
 * recommends gets kubeadm's warning (componentconfigs/utils.go warnDefaultComponentConfigValue).
 */
import type { ComponentConfigDoc } from './strict.js';

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `over` laid over `base`, as a merge patch: mappings merge key by key, anything else (scalars,
 * lists) in `over` replaces what `base` has. Neither input changes.
 */
export function mergeDocs(base: ComponentConfigDoc, over: ComponentConfigDoc): ComponentConfigDoc {
  const out: ComponentConfigDoc = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = out[key];
    out[key] = isMapping(value) && isMapping(below) ? mergeDocs(below, value) : value;
  }
  return out;
}

/** The value at a dotted path (`authentication.x509.clientCAFile`), undefined when absent. */
export function valueAt(doc: ComponentConfigDoc, dotted: string): unknown {
  let cur: unknown = doc;
  for (const part of dotted.split('.')) {
    if (!isMapping(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** A value as Go's %v prints it: lists as `[a b]`. */
function goValue(v: unknown): string {
  return Array.isArray(v) ? `[${v.map(goValue).join(' ')}]` : String(v);
}

/** One field kubeadm has a recommended value for. */
export interface Recommendation {
  field: string;
  value: unknown;
}

/** kubeadm's warning for each field the user set to something other than the recommended value. */
export function recommendationNotes(kind: string, user: ComponentConfigDoc | undefined, recommended: readonly Recommendation[]): string[] {
  if (!user) return [];
  return recommended.flatMap(({ field, value }) => {
    const given = valueAt(user, field);
    if (given === undefined || JSON.stringify(given) === JSON.stringify(value)) return [];
    return [`The recommended value for "${field}" in "${kind}" is: ${goValue(value)}; the provided value is: ${goValue(given)}`];
  });
}
