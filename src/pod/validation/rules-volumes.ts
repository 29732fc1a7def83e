/** Pod validation rows: volumes and the remaining pod-level fields (the rows of rules.ts, split by area). */
import { isDNS1123Label, isDNS1123Subdomain, isLabelValue, isQualifiedName, inclusiveRangeError, parseQuantity } from './format.js';
import { forbidden, invalid, invalidEach, notSupported, type Finding } from './field.js';
import { type JsonObject, type Match } from './select.js';
import {
  oneOf,
  nonNegative,
  uniqueIn,
  LONG,
  QUANTITY_RE,
  MAX_INT32,
  VOLUME_SOURCES,
  API_VOLUME_SOURCES,
  HOST_PATH_TYPES,
  TAINT_EFFECTS,
  exactlyOneOf,
  noBacksteps,
  type Rule,
} from './rule-kit.js';

export const VOLUME_RULES: readonly Rule[] = [
  // --- volumes (ValidateVolumes) ----------------------------------------------------------------------
  { id: 'volumes', at: 'spec.volumes', upstream: 'ValidateVolumes', type: 'list', examples: { valid: [[]], invalid: [{ name: 'data' }] } },
  {
    id: 'volume',
    at: 'spec.volumes[*]',
    upstream: 'validateVolumeSource',
    type: 'object',
    check: exactlyOneOf(VOLUME_SOURCES, 'must specify a volume type', 'may not specify more than 1 volume type'),
    examples: {
      at: 'spec.volumes[0]',
      valid: [
        { name: 'data', hostPath: { path: '/var/lib/data' } },
        { name: 'data', emptyDir: {} },
      ],
      invalid: [{ name: 'data' }, { name: 'data', hostPath: { path: '/foo' }, emptyDir: {} }],
    },
  },
  {
    id: 'volume-name',
    at: 'spec.volumes[*].name',
    upstream: 'ValidateVolumes (ValidateDNS1123Label, allNames)',
    type: 'string',
    required: true,
    check: (v: string, m: Match) => [...invalidEach(v, isDNS1123Label(v)), ...uniqueIn('name')(v, m)],
    examples: { at: 'spec.volumes[0].name', valid: ['data', 'a-1', '123', LONG], invalid: ['', 'Data', 'a.b', 'a_b', `${LONG}a`] },
  },
  {
    id: 'volume-api-objects',
    at: API_VOLUME_SOURCES.map((s) => `spec.volumes[*].${s}`),
    upstream: 'static',
    check: (_v: unknown, m: Match) => [
      forbidden(`a static pod cannot use ${m.path.slice(m.path.lastIndexOf('.') + 1)} volumes (they need the API server); use a hostPath volume`),
    ],
    examples: { at: 'spec.volumes[0].secret', valid: [], invalid: [{ secretName: 's' }] },
  },
  {
    id: 'host-path',
    at: 'spec.volumes[*].hostPath.path',
    upstream: 'validateHostPathVolumeSource (validatePathNoBacksteps)',
    type: 'string',
    required: true,
    check: noBacksteps,
    examples: { at: 'spec.volumes[0].hostPath.path', valid: ['/foo', '/', '/var/lib/etcd'], invalid: ['', '/foo/../bar', '..'] },
  },
  {
    id: 'host-path-absolute',
    at: 'spec.volumes[*].hostPath.path',
    upstream: 'static',
    type: 'string',
    // the API server takes a relative path; the kubelet then fails every mount of it
    check: (v: string) => (v === '' || v.startsWith('/') ? [] : [invalid(v, 'must be an absolute path on the host')]),
    examples: { at: 'spec.volumes[0].hostPath.path', valid: ['/foo', '/'], invalid: ['var/lib', 'filename'] },
  },
  {
    id: 'host-path-type',
    at: 'spec.volumes[*].hostPath.type',
    upstream: 'validateHostPathType (supportedHostPathTypes)',
    type: 'string',
    check: oneOf(HOST_PATH_TYPES),
    examples: { at: 'spec.volumes[0].hostPath.type', valid: HOST_PATH_TYPES, invalid: ['invalid', 'directory'] },
  },
  {
    id: 'empty-dir-medium',
    at: 'spec.volumes[*].emptyDir.medium',
    upstream: 'validateEmptyDirVolumeSource',
    type: 'string',
    check: (v: string) => (v === '' || v === 'Memory' || /^HugePages(-.+)?$/.test(v) ? [] : [notSupported(v, ['', 'Memory', 'HugePages', 'HugePages-<size>'])]),
    examples: { at: 'spec.volumes[1].emptyDir.medium', valid: ['', 'Memory', 'HugePages', 'HugePages-2Mi'], invalid: ['Disk', 'memory'] },
  },
  {
    id: 'empty-dir-size',
    at: 'spec.volumes[*].emptyDir.sizeLimit',
    upstream: 'validateEmptyDirVolumeSource (sizeLimit > 0)',
    type: 'quantity',
    check: (v: string | number) => {
      const q = parseQuantity(v);
      if (q === undefined) return [invalid(v, `quantities must match the regular expression '${QUANTITY_RE}'`)];
      return q <= 0 ? [forbidden('SizeLimit field must be a valid resource quantity')] : [];
    },
    examples: { at: 'spec.volumes[1].emptyDir.sizeLimit', valid: ['1Gi', '100Mi'], invalid: ['0', '-1Gi', 'lots'] },
  },

  // --- pod-level fields ---------------------------------------------------------------------------------
  {
    id: 'restart-policy',
    at: 'spec.restartPolicy',
    upstream: 'validateRestartPolicy',
    type: 'string',
    required: true,
    check: oneOf(['Always', 'OnFailure', 'Never']),
    examples: { valid: ['Always', 'OnFailure', 'Never'], invalid: ['NotRequired', 'RestartContainer', 'Restarrrt'] },
  },
  {
    id: 'termination-grace',
    at: 'spec.terminationGracePeriodSeconds',
    upstream: 'validatePodMetadataAndSpec (ValidateNonnegativeField)',
    type: 'integer',
    required: true,
    check: nonNegative,
    examples: { valid: [0, 30], invalid: [-1, '30'] },
  },
  {
    id: 'active-deadline',
    at: 'spec.activeDeadlineSeconds',
    upstream: 'ValidatePodSpec',
    type: 'integer',
    check: (v: number) => (v < 1 || v > MAX_INT32 ? [invalid(v, inclusiveRangeError(1, MAX_INT32))] : []),
    examples: { valid: [1, MAX_INT32], invalid: [0, -1, MAX_INT32 + 1] },
  },
  {
    id: 'dns-policy',
    at: 'spec.dnsPolicy',
    upstream: 'validateDNSPolicy',
    type: 'string',
    required: true,
    check: oneOf(['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']),
    examples: { valid: ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'], invalid: ['invalid'] },
  },
  {
    id: 'pod-dns-names',
    at: ['spec.hostname', 'spec.subdomain'],
    upstream: 'ValidatePodSpec (ValidateDNS1123Label)',
    type: 'string',
    check: (v: string) => (v === '' ? [] : invalidEach(v, isDNS1123Label(v))),
    examples: { valid: ['a', 'my-host', LONG], invalid: ['A', 'my.host', `${LONG}a`] },
  },
  {
    id: 'subdomain-names',
    at: 'spec.priorityClassName',
    upstream: 'ValidatePriorityClassName (IsDNS1123Subdomain); spec.nodeName is set by the agent',
    type: 'string',
    check: (v: string) => (v === '' ? [] : invalidEach(v, isDNS1123Subdomain(v))),
    examples: { at: 'spec.priorityClassName', valid: ['system-node-critical', 'a.b'], invalid: ['System', 'a_b', '.a'] },
  },
  {
    id: 'toleration',
    at: 'spec.tolerations[*]',
    upstream: 'ValidateTolerations',
    type: 'object',
    check: (v: JsonObject, m: Match) => {
      const out: Finding[] = [];
      const key = typeof v.key === 'string' ? v.key : '';
      const op = typeof v.operator === 'string' ? v.operator : '';
      const value = typeof v.value === 'string' ? v.value : '';
      if (key) out.push(...invalidEach(key, isQualifiedName(key), `${m.path}.key`));
      if (!key && op !== 'Exists')
        out.push(invalid(op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"', `${m.path}.operator`));
      if (v.tolerationSeconds !== undefined && v.effect !== 'NoExecute')
        out.push(invalid(v.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set", `${m.path}.effect`));
      if (op === 'Equal' || op === '') {
        const msgs = isLabelValue(value);
        if (msgs.length) out.push(invalid(value, msgs.join(';'), `${m.path}.operator`));
      } else if (op === 'Exists') {
        if (value) out.push(invalid(value, "value must be empty when `operator` is 'Exists'", `${m.path}.operator`));
      } else out.push(notSupported(op, ['Equal', 'Exists'], `${m.path}.operator`));
      if (v.effect !== undefined && v.effect !== '' && !TAINT_EFFECTS.includes(v.effect as string))
        out.push(notSupported(v.effect, TAINT_EFFECTS, `${m.path}.effect`));
      return out;
    },
    examples: {
      at: 'spec.tolerations[0]',
      valid: [
        { operator: 'Exists', effect: 'NoExecute' },
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'foo', value: 'bar', effect: 'NoExecute', tolerationSeconds: 60 },
      ],
      invalid: [
        { key: 'nospecialchars^=@', operator: 'Equal', value: 'bar', effect: 'NoSchedule' },
        { key: 'foo', operator: 'In', value: 'bar', effect: 'NoSchedule' },
        { key: 'foo', operator: 'Exists', value: 'bar', effect: 'NoSchedule' },
        { operator: 'Equal', value: 'bar', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 20 },
        { key: 'node.kubernetes.io/sla', operator: 'Lt', value: '950', effect: 'NoSchedule' },
      ],
    },
  },
  {
    id: 'priority',
    at: 'spec.priority',
    upstream: 'PodSpec.Priority (*int32)',
    type: 'integer',
    check: (v: number) => (v < -(2 ** 31) || v > MAX_INT32 ? [invalid(v, inclusiveRangeError(-(2 ** 31), MAX_INT32))] : []),
    examples: { valid: [0, 2000001000], invalid: [2 ** 31, 'high'] },
  },
  {
    id: 'service-account',
    at: 'spec.serviceAccountName',
    upstream: 'static',
    type: 'string',
    check: (v: string) => (v === '' ? [] : [forbidden('a static pod cannot use a service account (it needs the API server)')]),
    examples: { valid: [''], invalid: ['default'] },
  },
  {
    id: 'ephemeral-containers',
    at: 'spec.ephemeralContainers',
    upstream: 'ValidatePodCreate',
    check: () => [forbidden('cannot be set on create')],
    examples: { valid: [], invalid: [[{ name: 'debug', image: 'busybox' }]] },
  },
];
