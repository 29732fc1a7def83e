/** Overlaying partial documents (from a file) onto complete defaulted ones. */

/** What a config file may hold for T: any subset of fields, at any depth. Arrays replace whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `base` with every field `over` sets replaced: objects merge key by key, arrays and scalars replace
 * (kubeadm's defaulting works the same way: a list in the file is taken as given).
 */
export function overlay<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = key in base ? overlay(base[key], value) : value;
  }
  return out as T;
}
