/**
 * Strict decoding of a component config document (KubeletConfiguration, KubeProxyConfiguration):
 * apiVersion and kind checked, every top-level field known and of the right shape. kubeadm decodes
 * these into the component's Go types: a wrong shape is an error there too, an unknown field only a
 * warning; kubestrap makes that an error as well, so a misspelled field does not pass unnoticed.
 * Nested fields are the component's own to check when it starts.
 */
import { ConfigError } from '../../errors.js';
import { parseDuration } from '../duration.js';
import { suggestion, typeName } from '../field-errors.js';

/** The JSON shape of a Go field type: `duration` is a metav1.Duration string, `*Map` map[string]X. */
export type FieldType = 'string' | 'int' | 'number' | 'bool' | 'duration' | 'strings' | 'ints' | 'objects' | 'object' | 'stringMap' | 'boolMap' | 'listMap';

export interface ComponentConfigSpec {
  apiVersion: string;
  kind: string;
  /** Where to read about the fields, for the hint of an unknown field. */
  reference: string;
  fields: Readonly<Record<string, FieldType>>;
}

/** A component config document, checked: its top-level fields are those of the spec. */
export type ComponentConfigDoc = Record<string, unknown>;

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const CHECKS: Readonly<Record<FieldType, { expected: string; ok: (v: unknown) => boolean }>> = {
  string: { expected: 'a string', ok: (v) => typeof v === 'string' },
  int: { expected: 'an integer', ok: (v) => typeof v === 'number' && Number.isInteger(v) },
  number: { expected: 'a number', ok: (v) => typeof v === 'number' },
  bool: { expected: 'true or false', ok: (v) => typeof v === 'boolean' },
  duration: { expected: 'a duration such as "20s" or "1m30s"', ok: (v) => typeof v === 'string' && parseDuration(v) !== undefined },
  strings: { expected: 'a list of strings', ok: (v) => Array.isArray(v) && v.every((i) => typeof i === 'string') },
  ints: { expected: 'a list of integers', ok: (v) => Array.isArray(v) && v.every((i) => Number.isInteger(i)) },
  objects: { expected: 'a list of mappings', ok: (v) => Array.isArray(v) && v.every(isMapping) },
  object: { expected: 'a mapping', ok: isMapping },
  stringMap: { expected: 'a mapping of strings', ok: (v) => isMapping(v) && Object.values(v).every((i) => typeof i === 'string') },
  boolMap: { expected: 'a mapping of true/false values', ok: (v) => isMapping(v) && Object.values(v).every((i) => typeof i === 'boolean') },
  listMap: {
    expected: 'a mapping of lists of strings',
    ok: (v) => isMapping(v) && Object.values(v).every((i) => Array.isArray(i) && i.every((s) => typeof s === 'string')),
  },
};

function group(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

/**
 * `doc` checked against `spec`; returns a copy with top-level nulls dropped (YAML `field:` with no
 * value means "not set", as in Go). Throws a ConfigError naming `file` and the field.
 */
export function decodeComponentConfig(doc: unknown, spec: ComponentConfigSpec, file: string): ComponentConfigDoc {
  if (!isMapping(doc)) throw new ConfigError(`a ${spec.kind} must be a mapping, not ${typeName(doc)}`, { file });
  const { apiVersion, kind } = doc;
  if (kind !== spec.kind) throw new ConfigError(`is ${JSON.stringify(kind ?? null)}, not ${spec.kind}`, { file, field: 'kind' });
  if (apiVersion !== spec.apiVersion) {
    // kubeadm's UnsupportedConfigVersionError for an old version of the same group
    const why = typeof apiVersion === 'string' && group(apiVersion) === group(spec.apiVersion) ? 'is not supported' : `is not the apiVersion of ${spec.kind}`;
    throw new ConfigError(`${JSON.stringify(apiVersion ?? null)} ${why}`, { file, field: 'apiVersion', hint: `use ${spec.apiVersion}` });
  }
  const out: ComponentConfigDoc = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'apiVersion' || key === 'kind') {
      out[key] = value;
      continue;
    }
    const type = spec.fields[key];
    if (!type) {
      const guess = suggestion(key, Object.keys(spec.fields));
      throw new ConfigError(`unknown field in ${spec.kind}`, {
        file,
        field: key,
        hint: guess ? `did you mean "${guess}"?` : `see the ${spec.apiVersion} ${spec.kind} reference: ${spec.reference}`,
      });
    }
    if (value === null || value === undefined) continue;
    const check = CHECKS[type];
    if (!check.ok(value)) throw new ConfigError(`must be ${check.expected}, not ${typeName(value)}`, { file, field: key });
    out[key] = value;
  }
  return out;
}
