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
import { isObject, PatternSet, type JsonObject, type Match } from './select.js';

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

/** Each phase's rules in one trie; violations are reported in table order, then document order. */
function compile(rules: readonly Rule[]): { set: PatternSet<number>; rules: readonly Rule[] } {
  const set = new PatternSet<number>();
  rules.forEach((rule, i) => {
    for (const pattern of typeof rule.at === 'string' ? [rule.at] : rule.at) set.add(pattern, i);
  });
  return { set, rules };
}

const GATES = compile(RULES.filter((r) => r.gate));
const SHAPE = compile(RULES.filter((r) => r.type));
const VALUES = compile(RULES);

const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Runs `fn` over every match of a compiled table; returns the violations in table order. */
function run(
  table: { set: PatternSet<number>; rules: readonly Rule[] },
  doc: JsonObject,
  fn: (rule: Rule, m: Match, pattern: string, out: Violation[]) => void,
): Violation[] {
  const byRule: Violation[][] = table.rules.map(() => []);
  table.set.walk(doc, (i, m, pattern) => fn(table.rules[i]!, m, pattern, byRule[i]!));
  return dedupe(byRule.flat());
}

/** Type errors; required objects and lists (what the defaults need) count as shape too. */
export function shapeViolations(doc: unknown): Violation[] {
  if (!isObject(doc)) return [{ field: '', rule: 'document', message: 'must be a mapping (one kind: Pod)' }];
  const gate = valueRun(GATES, doc);
  if (gate.length > 0) return gate;
  return run(SHAPE, doc, (rule, m, pattern, out) => {
    const type = rule.type!;
    if (!m.present) {
      // metadata, spec, spec.containers: the defaults walk them; deeper required lists are values
      const structural = rule.required === true && (type === 'object' || type === 'list') && !pattern.includes('[*]');
      if (structural) out.push({ field: m.path, rule: rule.id, message: 'Required value' });
    } else if (!TYPE_OK[type](m.value)) {
      out.push({ field: m.path, rule: rule.id, message: `Invalid value: ${JSON.stringify(m.value)}: must be ${TYPE_NAME[type]}` });
    }
  });
}

function valueRun(table: { set: PatternSet<number>; rules: readonly Rule[] }, pod: JsonObject): Violation[] {
  return run(table, pod, (rule, m, _pattern, out) => {
    if (isEmpty(m.value)) {
      // as upstream's if/else: a missing required field is only "Required"; an optional empty
      // value that is present still gets its check (a port's `name: ""`)
      if (rule.required) out.push({ field: m.path, rule: rule.id, message: 'Required value' });
      if (rule.required || !m.present) return;
    }
    if (!rule.check || (rule.type && !TYPE_OK[rule.type](m.value))) return;
    for (const f of rule.check(m.value as never, m, pod)) out.push({ field: f.field ?? m.path, rule: rule.id, message: f.message });
  });
}

/** Required fields and checks, on a pod whose shape is right and whose defaults are applied. */
export function valueViolations(pod: JsonObject): Violation[] {
  return valueRun(VALUES, pod);
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
    return this.violations
      .map((v, i) => `${[this.file, v.field].filter(Boolean).join(': ')}: ${v.message}${i === this.violations.length - 1 ? hint : ''}`)
      .join('\n');
  }
}

/** Throws PodValidationError when there is any violation. */
export function assertValid(violations: readonly Violation[], file: string, hint?: string): void {
  if (violations.length > 0) throw new PodValidationError(violations, file, hint);
}
