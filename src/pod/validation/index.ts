/**
 * Pod validation as the API server does it for a mirror pod, from the rules table (rules.ts):
 *
 * 1. shape: every field has its JSON type, and the objects and lists the defaults walk exist
 *    (the API server's decode step); nothing else runs while the shape is wrong;
 * 2. values: required fields and checks, on the pod *with API defaults applied* (the API server
 *    defaults before it validates, so a manifest may leave out restartPolicy, imagePullPolicy, ...).
 *
 * Every violation is reported (not only the first), each one line naming the field.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ManifestError } from '../../errors.js';
import { applyPodDefaults } from '../defaults.js';
import { RULES, type Rule, type ValueType } from './rules.js';
import { isObject, select, type JsonObject } from './select.js';

export { RULES, type Rule } from './rules.js';

export interface Violation {
  /** Field path, e.g. `spec.containers[0].env[0].name`. */
  field: string;
  /** Upstream's wording: `Invalid value: "x": <why>`, `Required value`, ... */
  message: string;
  /** The rule's id (rules.ts). */
  rule: string;
}

const TYPE_OK: Readonly<Record<ValueType, (v: unknown) => boolean>> = {
  string: (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  object: isObject,
  list: Array.isArray,
  'int-or-string': (v) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)),
  quantity: (v) => typeof v === 'number' || typeof v === 'string',
};

const TYPE_NAME: Readonly<Record<ValueType, string>> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  list: 'a list',
  'int-or-string': 'an integer or a string',
  quantity: 'a quantity (e.g. 100m, 1Gi)',
};

const GATES = RULES.filter((r) => r.gate);
const patterns = (rule: Rule): readonly string[] => (typeof rule.at === 'string' ? [rule.at] : rule.at);
const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Type errors; required objects and lists (what the defaults need) count as shape too. */
export function shapeViolations(doc: unknown): Violation[] {
  if (!isObject(doc)) return [{ field: '', rule: 'document', message: 'must be a mapping (one kind: Pod)' }];
  const gate = valueViolations(doc, GATES);
  if (gate.length > 0) return gate;
  const out: Violation[] = [];
  for (const rule of RULES) {
    if (!rule.type) continue;
    const structural = rule.required === true && (rule.type === 'object' || rule.type === 'list');
    for (const pattern of patterns(rule)) {
      for (const m of select(doc, pattern)) {
        // metadata, spec, spec.containers: the defaults walk them; deeper required lists are values
        if (!m.present) {
          if (structural && !pattern.includes('[*]')) out.push({ field: m.path, rule: rule.id, message: 'Required value' });
          continue;
        }
        if (!TYPE_OK[rule.type](m.value)) {
          out.push({ field: m.path, rule: rule.id, message: `Invalid value: ${JSON.stringify(m.value)}: must be ${TYPE_NAME[rule.type]}` });
        }
      }
    }
  }
  return dedupe(out);
}

/** Required fields and checks, on a pod whose shape is right and whose defaults are applied. */
export function valueViolations(pod: JsonObject, rules: readonly Rule[] = RULES): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    for (const pattern of patterns(rule)) {
      for (const m of select(pod, pattern)) {
        if (isEmpty(m.value)) {
          // as upstream's if/else: a missing required field is only "Required"; an optional empty
          // value that is present still gets its check (a port's `name: ""`)
          if (rule.required) out.push({ field: m.path, rule: rule.id, message: 'Required value' });
          if (rule.required || !m.present) continue;
        }
        if (!rule.check || (rule.type && !TYPE_OK[rule.type](m.value))) continue;
        for (const f of rule.check(m.value as never, m, pod)) out.push({ field: f.field ?? m.path, rule: rule.id, message: f.message });
      }
    }
  }
  return dedupe(out);
}

/** One report per field and message (a field can match two patterns of one rule). */
function dedupe(list: Violation[]): Violation[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const key = `${v.field}\0${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Shape, then values on a defaulted copy: every violation of a decoded manifest. */
export function validatePodDocument(doc: unknown): Violation[] {
  const shape = shapeViolations(doc);
  if (shape.length > 0) return shape;
  const pod = structuredClone(doc) as V1Pod;
  applyPodDefaults(pod);
  return valueViolations(pod as unknown as JsonObject);
}

/** A manifest the API server would refuse: every violation, one line each, naming file and field. */
export class PodValidationError extends ManifestError {
  constructor(
    readonly violations: readonly Violation[],
    file: string,
    hint?: string,
  ) {
    super(violations.map((v) => `${v.field ? `${v.field}: ` : ''}${v.message}`).join('\n'), { file, field: violations[0]?.field, hint });
  }

  /** One line per violation: `file: field: message`; the hint, if any, after the last. */
  override oneLine(): string {
    const hint = this.hint ? ` (${this.hint})` : '';
    return this.violations.map((v, i) => `${[this.file, v.field].filter(Boolean).join(': ')}: ${v.message}${i === this.violations.length - 1 ? hint : ''}`).join('\n');
  }
}

/** Throws PodValidationError when there is any violation. */
export function assertValid(violations: readonly Violation[], file: string, hint?: string): void {
  if (violations.length > 0) throw new PodValidationError(violations, file, hint);
}
