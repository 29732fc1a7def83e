/** Pod validation rows: decoding and metadata (the rows of rules.ts, split by area). */
import { isDNS1123Label, isDNS1123Subdomain, isLabelValue, isQualifiedName } from './format.js';
import { invalidEach, tooLong } from './field.js';
import { type JsonObject } from './select.js';
import { oneOf, str, LONG, TOTAL_ANNOTATION_SIZE_LIMIT_B, type Rule } from './rule-kit.js';

export const METADATA_RULES: readonly Rule[] = [
  // --- decode (kubelet: one v1 Pod per manifest) --------------------------------------------------
  {
    id: 'api-version',
    at: 'apiVersion',
    upstream: 'static',
    gate: true,
    type: 'string',
    required: true,
    check: oneOf(['v1']),
    examples: { valid: ['v1'], invalid: ['apps/v1', 'v2'] },
  },
  {
    id: 'kind',
    at: 'kind',
    upstream: 'static',
    gate: true,
    type: 'string',
    required: true,
    check: oneOf(['Pod']),
    examples: { valid: ['Pod'], invalid: ['PodList', 'Deployment'] },
  },

  // --- metadata (ValidateObjectMeta) ----------------------------------------------------------------
  { id: 'metadata', at: 'metadata', upstream: 'ValidateObjectMeta', type: 'object', required: true, examples: { valid: [{ name: 'a' }], invalid: ['name'] } },
  {
    id: 'pod-name',
    at: 'metadata.name',
    upstream: 'ValidatePodName (IsDNS1123Subdomain)',
    type: 'string',
    required: true,
    check: str(isDNS1123Subdomain),
    examples: {
      valid: ['a', 'a--1--2--b', '0.a', 'a.b.c.d.e', '1.2.3.4.5', 'a'.repeat(253)],
      invalid: ['', 'A', 'aBc', 'a_b', 'a..b', '.a', 'a.', 'a@b', 'a'.repeat(254)],
    },
  },
  {
    id: 'namespace',
    at: 'metadata.namespace',
    upstream: 'ValidateNamespaceName (IsDNS1123Label)',
    type: 'string',
    check: str(isDNS1123Label),
    examples: { valid: ['a', 'a-1', '0', '1--a--b--2', LONG], invalid: ['A', 'a-', '-a', 'a_b', 'a.b', 'a b', `${LONG}a`] },
  },
  {
    id: 'labels',
    at: ['metadata.labels', 'spec.nodeSelector'],
    upstream: 'ValidateLabels',
    type: 'object',
    examples: { valid: [{}, { a: 'b' }], invalid: [['a']] },
  },
  {
    id: 'label-key',
    at: ['metadata.labels{k}', 'spec.nodeSelector{k}'],
    upstream: 'ValidateLabels (IsQualifiedName)',
    check: str(isQualifiedName),
    examples: {
      at: 'metadata.labels',
      valid: ['simple', 'now-with-dashes', '1-starts-with-num', 'now.with.dots/simple', 'Uppercase_Is_OK_123', 'example.com/Uppercase_Is_OK_123', LONG].map(
        (k) => ({ [k]: 'v' }),
      ),
      invalid: [
        'nospecialchars%^=@',
        'cantendwithadash-',
        '-cantstartwithadash-',
        'only/one/slash',
        'Example.com/abc',
        'example_com/abc',
        'example.com/',
        '/simple',
        `${LONG}a`,
      ].map((k) => ({ [k]: 'v' })),
    },
  },
  {
    id: 'label-value',
    at: ['metadata.labels{v}', 'spec.nodeSelector{v}'],
    upstream: 'ValidateLabels (IsValidLabelValue)',
    type: 'string',
    check: str(isLabelValue),
    examples: {
      at: 'metadata.labels[k]',
      valid: ['simple', 'now-with-dashes', '1-starts-with-num', 'end-with-num-1', '1234', LONG, ''],
      invalid: [
        'nospecialchars%^=@',
        'Tama-nui-te-rā.is.Māori.sun',
        '\\backslashes\\are\\bad',
        '-starts-with-dash',
        'ends-with-dash-',
        '.starts.with.dot',
        'ends.with.dot.',
        `${LONG}a`,
        1,
      ],
    },
  },
  {
    id: 'annotations-size',
    at: 'metadata.annotations',
    upstream: 'ValidateAnnotations (TotalAnnotationSizeLimitB)',
    type: 'object',
    check: (v: JsonObject) => {
      let total = 0;
      for (const [k, val] of Object.entries(v)) total += Buffer.byteLength(k) + Buffer.byteLength(String(val));
      return total > TOTAL_ANNOTATION_SIZE_LIMIT_B ? [tooLong(TOTAL_ANNOTATION_SIZE_LIMIT_B)] : [];
    },
    examples: { valid: [{ a: 'x'.repeat(TOTAL_ANNOTATION_SIZE_LIMIT_B - 1) }], invalid: [{ a: 'x'.repeat(TOTAL_ANNOTATION_SIZE_LIMIT_B) }] },
  },
  {
    id: 'annotation-key',
    at: 'metadata.annotations{k}',
    upstream: 'ValidateAnnotations (IsQualifiedName of the lower-cased key)',
    check: (k: string) => invalidEach(k, isQualifiedName(k.toLowerCase())),
    examples: {
      at: 'metadata.annotations',
      valid: ['simple', 'now-with-dashes', '1-num.2-num/3-num', 'example.com/Uppercase_Is_OK_123', 'Example.com/abc'].map((k) => ({ [k]: 'v' })),
      invalid: ['nospecialchars%^=@', 'cantendwithadash-', 'only/one/slash', 'example_com/abc', 'example.com/', '/simple', `${LONG}a`].map((k) => ({
        [k]: 'v',
      })),
    },
  },
  {
    id: 'annotation-value',
    at: 'metadata.annotations{v}',
    upstream: 'ObjectMeta.Annotations (map[string]string)',
    type: 'string',
    examples: { at: 'metadata.annotations[k]', valid: ['', 'x'], invalid: [1, true] },
  },
];
