/**
 * Field path patterns over a decoded Pod, so rules name *where* they apply as data:
 *
 *   `spec.containers[*].env[*].name`   every env name of every container
 *   `metadata.labels{k}`               every key of a map (reported at the map, as upstream does)
 *   `spec.containers[*].resources.limits{v}`  every value of a map (`limits[cpu]`)
 *
 * A match is yielded for a missing leaf too (present: false) when its parent object exists, so
 * `required` rules can fire; nothing is yielded below a missing or mistyped node.
 */
export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

type Step = { prop: string } | { each: true } | { keys: true } | { values: true };

export interface Match {
  /** Concrete path, e.g. `spec.containers[0].env[1].name`. */
  path: string;
  value: unknown;
  present: boolean;
  /** The object holding the leaf (for map keys/values: the map). */
  parent: JsonObject;
  /** The nearest list on the way and the index taken in it (for uniqueness checks). */
  list?: unknown[];
  index?: number;
  /** The container the match is in, and whether it is an init container. */
  container?: JsonObject;
  init?: boolean;
}

const cache = new Map<string, Step[]>();

function parse(pattern: string): Step[] {
  let steps = cache.get(pattern);
  if (steps) return steps;
  steps = [];
  for (const part of pattern.split('.')) {
    const m = /^([^[{]*)((?:\[\*\]|\{k\}|\{v\})*)$/.exec(part);
    if (!m) throw new Error(`bad field pattern ${pattern}`);
    if (m[1]) steps.push({ prop: m[1] });
    for (const s of m[2]!.match(/\[\*\]|\{k\}|\{v\}/g) ?? []) steps.push(s === '[*]' ? { each: true } : s === '{k}' ? { keys: true } : { values: true });
  }
  cache.set(pattern, steps);
  return steps;
}

interface Cursor {
  node: unknown;
  path: string;
  parent: JsonObject;
  present: boolean;
  list?: unknown[];
  index?: number;
  container?: JsonObject;
  init?: boolean;
}

/** Every match of `pattern` in `root`. */
export function select(root: JsonObject, pattern: string): Match[] {
  const steps = parse(pattern);
  let cursors: Cursor[] = [{ node: root, path: '', parent: root, present: true }];
  steps.forEach((step, i) => {
    const last = i === steps.length - 1;
    const next: Cursor[] = [];
    for (const c of cursors) {
      if ('prop' in step) {
        if (!isObject(c.node)) continue;
        const value = c.node[step.prop];
        const present = value !== undefined && value !== null;
        if (!present && !last) continue;
        const path = c.path ? `${c.path}.${step.prop}` : step.prop;
        next.push({ ...c, node: value, path, parent: c.node, present });
      } else if ('each' in step) {
        if (!Array.isArray(c.node)) continue;
        const list = c.node;
        // a container is an item of spec.containers / spec.initContainers
        const inContainers = c.path === 'spec.containers' || c.path === 'spec.initContainers';
        list.forEach((item, index) => {
          const container = inContainers && isObject(item) ? item : c.container;
          const init = inContainers ? c.path === 'spec.initContainers' : c.init;
          next.push({ ...c, node: item, path: `${c.path}[${index}]`, present: item !== undefined && item !== null, list, index, container, init });
        });
      } else {
        if (!isObject(c.node)) continue;
        const map = c.node;
        for (const key of Object.keys(map)) {
          if ('keys' in step) next.push({ ...c, node: key, parent: map, present: true });
          else next.push({ ...c, node: map[key], path: `${c.path}[${key}]`, parent: map, present: map[key] !== undefined && map[key] !== null });
        }
      }
    }
    cursors = next;
  });
  return cursors.map((c) => ({ path: c.path, value: c.node, present: c.present, parent: c.parent, list: c.list, index: c.index, container: c.container, init: c.init }));
}
