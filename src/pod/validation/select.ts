/**
 * Field path patterns over a decoded Pod, so rules name *where* they apply as data:
 *
 *   `spec.containers[*].env[*].name`   every env name of every container
 *   `metadata.labels{k}`               every key of a map (reported at the map, as upstream does)
 *   `spec.containers[*].resources.limits{v}`  every value of a map (`limits[cpu]`)
 *
 * A match is yielded for a missing leaf too (present: false) when its parent object exists, so
 * `required` rules can fire; nothing is yielded below a missing or mistyped node.
 *
 * All patterns of a table are compiled into one trie and the pod is walked once per phase (the
 * agent validates every manifest of a relist: ≈ 170 patterns walked one by one cost 4× as much).
 */
export type JsonObject = { [key: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

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

interface Node<T> {
  props: Map<string, Node<T>>;
  each?: Node<T>;
  keys?: Node<T>;
  values?: Node<T>;
  /** What ends at this node, with its pattern (in insertion order). */
  leaves: { item: T; pattern: string }[];
}

const newNode = <T>(): Node<T> => ({ props: new Map(), leaves: [] });

/** Patterns compiled into a trie; `walk` yields every (item, match) for one document. */
export class PatternSet<T> {
  private readonly root = newNode<T>();

  add(pattern: string, item: T): void {
    let node = this.root;
    for (const part of pattern.split('.')) {
      const m = /^([^[{]*)((?:\[\*\]|\{k\}|\{v\})*)$/.exec(part);
      if (!m) throw new Error(`bad field pattern ${pattern}`);
      if (m[1]) {
        let next = node.props.get(m[1]);
        if (!next) node.props.set(m[1], (next = newNode()));
        node = next;
      }
      for (const s of m[2]!.match(/\[\*\]|\{k\}|\{v\}/g) ?? []) {
        const key = s === '[*]' ? 'each' : s === '{k}' ? 'keys' : 'values';
        node = node[key] ??= newNode();
      }
    }
    node.leaves.push({ item, pattern });
  }

  /** Every match of every pattern in `root`, with the item its pattern was added with. */
  walk(root: JsonObject, visit: (item: T, m: Match, pattern: string) => void): void {
    const go = (node: Node<T>, m: Match): void => {
      for (const leaf of node.leaves) visit(leaf.item, m, leaf.pattern);
      const v = m.value;
      if (!m.present) return;
      if (node.props.size > 0 && isObject(v)) {
        for (const [prop, child] of node.props) {
          const value = v[prop];
          const present = value !== undefined && value !== null;
          // below a missing field only a leaf right there is yielded (for `required`)
          if (!present && child.leaves.length === 0) continue;
          go(child, { ...m, path: m.path ? `${m.path}.${prop}` : prop, value, present, parent: v });
        }
      }
      if (node.each && Array.isArray(v)) {
        // a container is an item of spec.containers / spec.initContainers
        const inContainers = m.path === 'spec.containers' || m.path === 'spec.initContainers';
        for (let index = 0; index < v.length; index++) {
          const item = v[index];
          go(node.each, {
            ...m,
            path: `${m.path}[${index}]`,
            value: item,
            present: item !== undefined && item !== null,
            list: v,
            index,
            container: inContainers && isObject(item) ? item : m.container,
            init: inContainers ? m.path === 'spec.initContainers' : m.init,
          });
        }
      }
      if ((node.keys || node.values) && isObject(v)) {
        for (const key of Object.keys(v)) {
          if (node.keys) go(node.keys, { ...m, value: key, present: true, parent: v });
          if (node.values) go(node.values, { ...m, path: `${m.path}[${key}]`, value: v[key], parent: v, present: v[key] !== undefined && v[key] !== null });
        }
      }
    };
    go(this.root, { path: '', value: root, present: true, parent: root });
  }
}
