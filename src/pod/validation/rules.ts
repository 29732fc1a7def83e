/**
 * The API server's pod validation (k8s.io/kubernetes v1.37.2 pkg/apis/core/validation, create of a
 * Pod; apimachinery v0.37.2 for the string checks), as data: one row per rule, for the fields a
 * static Pod can carry. A row says where it applies (select.ts patterns; container rows apply to
 * containers and init containers), the JSON type the field must have (checked before defaults,
 * like decoding), whether it is required (after defaults, as upstream validates), the check, and
 * upstream's own example values from its tests (test/unit/pod-validation.test.ts runs them).
 *
 * Rows marked `static` are not upstream's: they are what a static pod cannot use because the
 * kubelet has no API objects for it (secrets, config maps, service accounts) or decodes only v1 Pods.
 */
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isHTTPHeaderName,
  isLabelValue,
  isQualifiedName,
  isRelaxedEnvVarName,
  isValidGroupID,
  isValidPortName,
  isValidPortNum,
  isValidSysctlName,
  isValidUserID,
  inclusiveRangeError,
  parseQuantity,
} from './format.js';
import { duplicate, forbidden, invalid, invalidEach, notFound, notSupported, required, tooLong, type Finding } from './field.js';
import { isObject, type JsonObject, type Match } from './select.js';

export type ValueType = 'string' | 'integer' | 'boolean' | 'object' | 'list' | 'int-or-string' | 'quantity';

export interface Rule {
  /** Stable id, shown in tests and reports. */
  id: string;
  /** Field pattern(s), see select.ts. */
  at: string | readonly string[];
  /** The upstream function (or `static`: kubestrap's static-pod rule) this row ports. */
  upstream: string;
  type?: ValueType;
  /** Reported as `Required value` when absent (or, for strings and lists, empty) after defaults. */
  required?: boolean;
  /** Runs on present values of the right type, on the defaulted pod. */
  check?: (value: never, m: Match, pod: JsonObject) => Finding[];
  /** Checked before anything else; when it fails nothing else is (a PodList is no broken Pod). */
  gate?: boolean;
  /** Upstream's example values for the first pattern (or `examples.at`), from its tests. */
  examples: { valid: readonly unknown[]; invalid: readonly unknown[]; at?: string };
}

/** A pattern under every container and init container. */
const ctr = (rest: string): string[] => [`spec.containers[*].${rest}`, `spec.initContainers[*].${rest}`];
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const probe = (rest: string): string[] => PROBES.flatMap((p) => ctr(rest ? `${p}.${rest}` : p));

const oneOf =
  (supported: readonly string[]) =>
  (v: string): Finding[] =>
    supported.includes(v) ? [] : [notSupported(v, supported)];
const str = (fn: (v: string) => readonly string[]) => (v: string): Finding[] => invalidEach(v, fn(v));
const int = (fn: (v: number) => readonly string[]) => (v: number): Finding[] => invalidEach(v, fn(v));
const nonNegative = (v: number): Finding[] => (v < 0 ? [invalid(v, 'must be greater than or equal to 0')] : []);
/** Unique within the list the match is in, by the matched field. */
const uniqueIn = (field: string) => (v: string, m: Match): Finding[] =>
  m.list!.slice(0, m.index).some((o) => isObject(o) && o[field] === v) ? [duplicate(v)] : [];

const LONG = 'a'.repeat(63);
/** apimachinery's splitREString, quoted in its parse error. */
const QUANTITY_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const MAX_INT32 = 2 ** 31 - 1;
const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024;

/** Every volume source of core.VolumeSource (validateVolumeSource counts them). */
export const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos', 'csi',
  'ephemeral', 'image',
] as const;
/** Sources that need API objects or a CSI driver the agent does not have (kubelet: static pods may not use them). */
const API_VOLUME_SOURCES = ['secret', 'configMap', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'];
const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];
const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
const OVERCOMMIT_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;
const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'] as const;
const ENV_FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'] as const;

function resourceName(name: string): Finding[] {
  const msgs = isQualifiedName(name);
  if (msgs.length) return invalidEach(name, msgs);
  if (!name.includes('/')) {
    return STANDARD_CONTAINER_RESOURCES.includes(name) || name.startsWith('hugepages-') ? [] : [invalid(name, 'must be a standard resource for containers')];
  }
  // native (kubernetes.io/…) names other than the standard ones are not container resources
  if (name.includes('kubernetes.io/')) return [invalid(name, 'must be a standard resource for containers')];
  return [];
}

function requestsWithinLimits(res: JsonObject, m: Match): Finding[] {
  const limits = isObject(res.limits) ? res.limits : {};
  const requests = isObject(res.requests) ? res.requests : {};
  const out: Finding[] = [];
  for (const [name, q] of Object.entries(requests)) {
    const request = parseQuantity(q as string);
    const limitRaw = limits[name];
    if (limitRaw === undefined) {
      if (!OVERCOMMIT_RESOURCES.includes(name)) out.push(required('Limit must be set for non overcommitable resources', `${m.path}.limits`));
      continue;
    }
    const limit = parseQuantity(limitRaw as string);
    if (request === undefined || limit === undefined) continue;
    if (!OVERCOMMIT_RESOURCES.includes(name) && request !== limit) {
      out.push(invalid(String(q), `must be equal to ${name} limit of ${String(limitRaw)}`, `${m.path}.requests`));
    } else if (request > limit) {
      out.push(invalid(String(q), `must be less than or equal to ${name} limit of ${String(limitRaw)}`, `${m.path}.requests`));
    }
  }
  return out;
}

/** validateHandler / validateVolumeSource: exactly one of `fields` is set; the extra ones are reported. */
const exactlyOneOf =
  (fields: readonly string[], none: string, more: string) =>
  (v: JsonObject, m: Match): Finding[] => {
    const set = fields.filter((f) => v[f] !== undefined && v[f] !== null);
    if (set.length === 0) return [required(none)];
    return set.slice(1).map((f) => forbidden(more, `${m.path}.${f}`));
  };

const noBacksteps = (p: string): Finding[] => (p.split('/').includes('..') ? [invalid(p, "must not contain '..'")] : []);
const localDescending = (p: string): Finding[] => [...(p.startsWith('/') ? [invalid(p, 'must be a relative path')] : []), ...noBacksteps(p)];

export const RULES: readonly Rule[] = [
  // --- decode (kubelet: one v1 Pod per manifest) --------------------------------------------------
  { id: 'api-version', at: 'apiVersion', upstream: 'static', gate: true, type: 'string', required: true, check: oneOf(['v1']), examples: { valid: ['v1'], invalid: ['apps/v1', 'v2'] } },
  { id: 'kind', at: 'kind', upstream: 'static', gate: true, type: 'string', required: true, check: oneOf(['Pod']), examples: { valid: ['Pod'], invalid: ['PodList', 'Deployment'] } },

  // --- metadata (ValidateObjectMeta) ----------------------------------------------------------------
  { id: 'metadata', at: 'metadata', upstream: 'ValidateObjectMeta', type: 'object', required: true, examples: { valid: [{ name: 'a' }], invalid: ['name'] } },
  {
    id: 'pod-name',
    at: 'metadata.name',
    upstream: 'ValidatePodName (IsDNS1123Subdomain)',
    type: 'string',
    required: true,
    check: str(isDNS1123Subdomain),
    examples: { valid: ['a', 'a--1--2--b', '0.a', 'a.b.c.d.e', '1.2.3.4.5', 'a'.repeat(253)], invalid: ['', 'A', 'aBc', 'a_b', 'a..b', '.a', 'a.', 'a@b', 'a'.repeat(254)] },
  },
  {
    id: 'namespace',
    at: 'metadata.namespace',
    upstream: 'ValidateNamespaceName (IsDNS1123Label)',
    type: 'string',
    check: str(isDNS1123Label),
    examples: { valid: ['a', 'a-1', '0', '1--a--b--2', LONG], invalid: ['A', 'a-', '-a', 'a_b', 'a.b', 'a b', `${LONG}a`] },
  },
  { id: 'labels', at: ['metadata.labels', 'spec.nodeSelector'], upstream: 'ValidateLabels', type: 'object', examples: { valid: [{}, { a: 'b' }], invalid: [['a']] } },
  {
    id: 'label-key',
    at: ['metadata.labels{k}', 'spec.nodeSelector{k}'],
    upstream: 'ValidateLabels (IsQualifiedName)',
    check: str(isQualifiedName),
    examples: {
      at: 'metadata.labels',
      valid: ['simple', 'now-with-dashes', '1-starts-with-num', 'now.with.dots/simple', 'Uppercase_Is_OK_123', 'example.com/Uppercase_Is_OK_123', LONG].map((k) => ({ [k]: 'v' })),
      invalid: ['nospecialchars%^=@', 'cantendwithadash-', '-cantstartwithadash-', 'only/one/slash', 'Example.com/abc', 'example_com/abc', 'example.com/', '/simple', `${LONG}a`].map((k) => ({ [k]: 'v' })),
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
      invalid: ['nospecialchars%^=@', 'Tama-nui-te-rā.is.Māori.sun', '\\backslashes\\are\\bad', '-starts-with-dash', 'ends-with-dash-', '.starts.with.dot', 'ends.with.dot.', `${LONG}a`, 1],
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
      invalid: ['nospecialchars%^=@', 'cantendwithadash-', 'only/one/slash', 'example_com/abc', 'example.com/', '/simple', `${LONG}a`].map((k) => ({ [k]: 'v' })),
    },
  },
  { id: 'annotation-value', at: 'metadata.annotations{v}', upstream: 'ObjectMeta.Annotations (map[string]string)', type: 'string', examples: { at: 'metadata.annotations[k]', valid: ['', 'x'], invalid: [1, true] } },

  // --- spec ------------------------------------------------------------------------------------------
  { id: 'spec', at: 'spec', upstream: 'ValidatePodSpec', type: 'object', required: true, examples: { valid: [{ containers: [{ name: 'a', image: 'i' }] }], invalid: ['spec'] } },
  {
    id: 'containers',
    at: 'spec.containers',
    upstream: 'validateContainers',
    type: 'list',
    required: true,
    examples: { valid: [[{ name: 'a', image: 'i' }]], invalid: [[], { name: 'a' }] },
  },
  { id: 'init-containers', at: 'spec.initContainers', upstream: 'validateInitContainers', type: 'list', examples: { valid: [[], [{ name: 'init', image: 'i' }]], invalid: [{}] } },
  { id: 'container', at: ['spec.containers[*]', 'spec.initContainers[*]'], upstream: 'validateContainers', type: 'object', examples: { at: 'spec.containers[0]', valid: [{ name: 'a', image: 'i' }], invalid: ['a'] } },
  {
    id: 'container-name',
    at: ctr('name'),
    upstream: 'validateContainerCommon (ValidateDNS1123Label)',
    type: 'string',
    required: true,
    check: str(isDNS1123Label),
    examples: { valid: ['a', 'abc', 'a-1', 'a--1--2--b', '01', '1a', LONG], invalid: ['', 'A', 'aBc', '-', 'a-', '-a', 'a_b', 'a.b', 'a b', `${LONG}a`] },
  },
  {
    id: 'container-name-unique',
    at: ctr('name'),
    upstream: 'validateContainers / validateInitContainers (allNames)',
    check: (v: string, m: Match, pod: JsonObject) => {
      const spec = pod.spec as JsonObject;
      const apps = (spec.containers as unknown[]).filter(isObject);
      const inits = Array.isArray(spec.initContainers) ? spec.initContainers.filter(isObject) : [];
      // upstream checks containers first, then init containers against all names seen
      const before = m.init ? [...apps, ...inits.slice(0, m.index)] : apps.slice(0, m.index);
      return before.some((c) => c.name === v) ? [duplicate(v)] : [];
    },
    examples: { at: 'spec.initContainers[0].name', valid: ['init'], invalid: ['app'] },
  },
  {
    id: 'image',
    at: ctr('image'),
    upstream: 'validateContainerCommon / validateContainersOnlyForPod',
    type: 'string',
    required: true,
    check: (v: string) => (v.trim() !== v ? [invalid(v, 'must not have leading or trailing whitespace')] : []),
    examples: { valid: ['image', 'busybox', 'nginx:alpine'], invalid: ['', ' image', ' ', ' some  '] },
  },
  { id: 'command', at: [...ctr('command'), ...ctr('args')], upstream: 'Container.Command/Args ([]string)', type: 'list', examples: { valid: [['sh'], []], invalid: ['sh -c'] } },
  { id: 'command-item', at: [...ctr('command[*]'), ...ctr('args[*]')], upstream: 'Container.Command/Args ([]string)', type: 'string', examples: { at: 'spec.containers[0].command', valid: [['sh', '-c', 'x']], invalid: [['sh', 1]] } },
  { id: 'working-dir', at: ctr('workingDir'), upstream: 'Container.WorkingDir (string)', type: 'string', examples: { valid: ['/tmp'], invalid: [1] } },
  {
    id: 'image-pull-policy',
    at: ctr('imagePullPolicy'),
    upstream: 'validatePullPolicy',
    type: 'string',
    required: true,
    check: oneOf(['Always', 'IfNotPresent', 'Never']),
    examples: { valid: ['Always', 'IfNotPresent', 'Never'], invalid: ['PullThreeTimes'] },
  },
  {
    id: 'termination-message-policy',
    at: ctr('terminationMessagePolicy'),
    upstream: 'validateContainerCommon',
    type: 'string',
    required: true,
    check: oneOf(['File', 'FallbackToLogsOnError']),
    examples: { valid: ['File', 'FallbackToLogsOnError'], invalid: ['Unknown'] },
  },
  {
    id: 'container-restart-policy',
    at: 'spec.initContainers[*].restartPolicy',
    upstream: 'validateInitContainers (sidecars: only Always)',
    type: 'string',
    check: oneOf(['Always']),
    examples: { at: 'spec.initContainers[0].restartPolicy', valid: ['Always'], invalid: ['Never', 'OnFailure', 'Restarrrt'] },
  },
  { id: 'ports', at: ctr('ports'), upstream: 'validateContainerPorts', type: 'list', examples: { valid: [[]], invalid: [{ containerPort: 80 }] } },
  { id: 'port', at: ctr('ports[*]'), upstream: 'validateContainerPorts', type: 'object', examples: { at: 'spec.containers[0].ports[0]', valid: [{ containerPort: 80 }], invalid: [80] } },
  {
    id: 'container-port',
    at: ctr('ports[*].containerPort'),
    upstream: 'validateContainerPorts (IsValidPortNum)',
    type: 'integer',
    required: true,
    check: (v: number) => (v === 0 ? [required()] : invalidEach(v, isValidPortNum(v))),
    examples: { at: 'spec.containers[0].ports[0].containerPort', valid: [1, 2, 1000, 16384, 32768, 65535], invalid: [0, -1, 65536, 100000, '80'] },
  },
  {
    id: 'host-port',
    at: ctr('ports[*].hostPort'),
    upstream: 'validateContainerPorts (IsValidPortNum when set)',
    type: 'integer',
    check: (v: number) => (v === 0 ? [] : invalidEach(v, isValidPortNum(v))),
    examples: { at: 'spec.containers[0].ports[0].hostPort', valid: [0, 1, 2, 1000, 16384, 32768, 65535], invalid: [-1, 65536, 100000] },
  },
  {
    id: 'host-port-host-network',
    at: 'spec.containers[*].ports[*].hostPort',
    upstream: 'validatePodHostNetworkDeps',
    type: 'integer',
    // hostPort 0 is defaulted to containerPort for hostNetwork pods, so only a different port fails
    check: (v: number, m: Match, pod: JsonObject) =>
      (pod.spec as JsonObject).hostNetwork === true && v !== 0 && v !== m.parent.containerPort ? [invalid(v, 'must match `containerPort` when `hostNetwork` is true')] : [],
    examples: { at: 'spec.containers[1].ports[0].hostPort', valid: [0, 10250], invalid: [8080] },
  },
  {
    id: 'port-name',
    at: ctr('ports[*].name'),
    upstream: 'validateContainerPorts (IsValidPortName)',
    type: 'string',
    check: (v: string) => (v === '' ? [] : invalidEach(v, isValidPortName(v))),
    examples: {
      at: 'spec.containers[0].ports[0].name',
      valid: ['telnet', 're-mail-ck', 'pop3', 'a', 'a-1', '1-a', 'a-1-b-2-c', '1-a-2-b-3'],
      invalid: ['longerthan15characters', 'a'.repeat(16), '12345', '1-2-3-4', '-begin', 'end-', 'two--hyphens', 'whois++'],
    },
  },
  {
    id: 'port-name-unique',
    at: ctr('ports[*].name'),
    upstream: 'validateContainerPorts (allNames)',
    check: (v: string, m: Match) => (v === '' ? [] : uniqueIn('name')(v, m)),
    examples: { at: 'spec.containers[0].ports[1].name', valid: ['metrics'], invalid: ['http'] },
  },
  {
    id: 'port-protocol',
    at: ctr('ports[*].protocol'),
    upstream: 'validateContainerPorts (supportedPortProtocols)',
    type: 'string',
    required: true,
    check: oneOf(['SCTP', 'TCP', 'UDP']),
    examples: { at: 'spec.containers[0].ports[0].protocol', valid: ['TCP', 'UDP', 'SCTP'], invalid: ['tcp', 'Protocol', 'ICMP'] },
  },
  { id: 'env', at: ctr('env'), upstream: 'ValidateEnv', type: 'list', examples: { valid: [[]], invalid: [{ A: 'b' }] } },
  { id: 'env-var', at: ctr('env[*]'), upstream: 'ValidateEnv', type: 'object', examples: { at: 'spec.containers[0].env[0]', valid: [{ name: 'A' }], invalid: ['A=b'] } },
  {
    id: 'env-name',
    at: ctr('env[*].name'),
    upstream: 'ValidateEnv (IsRelaxedEnvVarName, GA since 1.34)',
    type: 'string',
    required: true,
    check: str(isRelaxedEnvVarName),
    examples: {
      at: 'spec.containers[0].env[0].name',
      valid: ['-', ':', '_', '+a', '>a', '<a', 'a.', 'a..', '*a', '%a', '?a', 'a:a', 'a_a', 'aAz', '~a', '|a', 'a0a', 'a9', '/a', 'a ', '#a', '0a', '0 a', "'a", '(a', '@a'],
      invalid: ['', '=', 'a=', '1=a', 'a=b', '#%=&&', `${String.fromCharCode(1)}abc`, `${String.fromCharCode(130)}abc`, 'Ç ç', 'Ä ä', 'Ñ ñ', 'Ø ø'],
    },
  },
  { id: 'env-value', at: ctr('env[*].value'), upstream: 'EnvVar.Value (string)', type: 'string', examples: { at: 'spec.containers[0].env[0].value', valid: ['', 'x'], invalid: [1, true] } },
  {
    id: 'env-value-from',
    at: ctr('env[*].valueFrom'),
    upstream: 'validateEnvVarValueFrom',
    type: 'object',
    check: (v: JsonObject, m: Match) => {
      const n = ENV_SOURCES.filter((s) => v[s] !== undefined && v[s] !== null).length;
      if (n === 0) return [invalid('', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, `secretKeyRef` or `fileKeyRef`')];
      if (typeof m.parent.value === 'string' && m.parent.value !== '') return [invalid('', 'may not be specified when `value` is not empty')];
      if (n > 1) return [invalid('', 'may not have more than one field specified at a time')];
      return [];
    },
    examples: {
      at: 'spec.containers[0].env[0].valueFrom',
      valid: [{ fieldRef: { fieldPath: 'metadata.name' } }],
      invalid: [{}, { fieldRef: { fieldPath: 'metadata.name' }, resourceFieldRef: { resource: 'limits.cpu' } }],
    },
  },
  {
    id: 'env-field-ref',
    at: ctr('env[*].valueFrom.fieldRef.fieldPath'),
    upstream: 'validateObjectFieldSelector (validEnvDownwardAPIFieldPathExpressions)',
    type: 'string',
    required: true,
    check: (v: string) => {
      const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(v);
      if (sub) return invalidEach(sub[2], isQualifiedName(sub[1] === 'metadata.annotations' ? sub[2]!.toLowerCase() : sub[2]!));
      return ENV_FIELD_PATHS.includes(v) ? [] : [notSupported(v, ENV_FIELD_PATHS)];
    },
    examples: {
      at: 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath',
      valid: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.hostIP', 'status.podIPs', "metadata.labels['app']", "metadata.annotations['kubernetes.io/config.hash']"],
      invalid: ['', 'metadata.whoops', 'status.phase', "metadata.labels['a/b/c']"],
    },
  },
  {
    id: 'env-api-objects',
    at: ctr('env[*].valueFrom'),
    upstream: 'static',
    type: 'object',
    check: (v: JsonObject) =>
      v.secretKeyRef !== undefined || v.configMapKeyRef !== undefined ? [forbidden('a static pod cannot read secrets or config maps (they need the API server)')] : [],
    examples: { at: 'spec.containers[0].env[0].valueFrom', valid: [{ fieldRef: { fieldPath: 'status.hostIP' } }], invalid: [{ secretKeyRef: { name: 's', key: 'k' } }, { configMapKeyRef: { name: 'c', key: 'k' } }] },
  },
  {
    id: 'env-from',
    at: ctr('envFrom'),
    upstream: 'static',
    check: () => [forbidden('a static pod cannot read secrets or config maps (they need the API server)')],
    examples: { valid: [], invalid: [[{ configMapRef: { name: 'c' } }]] },
  },
  { id: 'volume-mounts', at: ctr('volumeMounts'), upstream: 'ValidateVolumeMounts', type: 'list', examples: { valid: [[]], invalid: [{ name: 'data' }] } },
  { id: 'volume-mount', at: ctr('volumeMounts[*]'), upstream: 'ValidateVolumeMounts', type: 'object', examples: { at: 'spec.containers[0].volumeMounts[0]', valid: [{ name: 'data', mountPath: '/foo' }], invalid: ['data:/foo'] } },
  {
    id: 'volume-mount-name',
    at: ctr('volumeMounts[*].name'),
    upstream: 'ValidateVolumeMounts (IsMatchedVolume)',
    type: 'string',
    required: true,
    check: (v: string, _m: Match, pod: JsonObject) => {
      const vols = (pod.spec as JsonObject).volumes;
      return Array.isArray(vols) && vols.some((vol) => isObject(vol) && vol.name === v) ? [] : [notFound(v)];
    },
    examples: { at: 'spec.containers[0].volumeMounts[0].name', valid: ['data'], invalid: ['', 'missing'] },
  },
  {
    id: 'mount-path',
    at: ctr('volumeMounts[*].mountPath'),
    upstream: 'ValidateVolumeMounts',
    type: 'string',
    required: true,
    check: (v: string, m: Match) => (m.list!.slice(0, m.index).some((o) => isObject(o) && o.mountPath === v) ? [invalid(v, 'must be unique')] : []),
    examples: { at: 'spec.containers[0].volumeMounts[1].mountPath', valid: ['/bar'], invalid: ['', '/foo'] },
  },
  {
    id: 'sub-path',
    at: [...ctr('volumeMounts[*].subPath'), ...ctr('volumeMounts[*].subPathExpr')],
    upstream: 'ValidateVolumeMounts (validateLocalDescendingPath)',
    type: 'string',
    check: (v: string) => (v === '' ? [] : localDescending(v)),
    examples: { at: 'spec.containers[0].volumeMounts[0].subPath', valid: ['', 'foo', 'baz', '.baz'], invalid: ['/foo', '/baz', 'baz/../bat', './..'] },
  },
  { id: 'read-only', at: [...ctr('volumeMounts[*].readOnly'), 'spec.hostNetwork', 'spec.hostPID', 'spec.hostIPC'], upstream: 'bool fields', type: 'boolean', examples: { at: 'spec.containers[0].volumeMounts[0].readOnly', valid: [true, false], invalid: ['yes', 1] } },

  // --- probes (validateProbe, validateHandler) ------------------------------------------------------
  {
    id: 'probe-handler',
    at: probe(''),
    upstream: 'validateHandler',
    type: 'object',
    check: exactlyOneOf(PROBE_HANDLERS, 'must specify a handler type', 'may not specify more than 1 handler type'),
    examples: {
      at: 'spec.containers[0].livenessProbe',
      valid: [{ httpGet: { port: 8080 } }, { tcpSocket: { port: 'http' } }, { exec: { command: ['true'] } }, { grpc: { port: 9090 } }],
      invalid: [{}, { initialDelaySeconds: 1 }, { httpGet: { port: 8080 }, tcpSocket: { port: 8080 } }],
    },
  },
  {
    id: 'lifecycle-handler',
    at: [...ctr('lifecycle.postStart'), ...ctr('lifecycle.preStop')],
    upstream: 'validateLifecycle (validateHandler)',
    type: 'object',
    check: exactlyOneOf(LIFECYCLE_HANDLERS, 'must specify a handler type', 'may not specify more than 1 handler type'),
    examples: { at: 'spec.containers[0].lifecycle.preStop', valid: [{ exec: { command: ['true'] } }, { sleep: { seconds: 1 } }, { httpGet: { port: 8080 } }], invalid: [{}, { exec: { command: ['true'] }, sleep: { seconds: 1 } }] },
  },
  {
    id: 'probe-numbers',
    at: ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'].flatMap((f) => probe(f)),
    upstream: 'validateProbe (ValidateNonnegativeField)',
    type: 'integer',
    check: nonNegative,
    examples: { at: 'spec.containers[0].readinessProbe.initialDelaySeconds', valid: [0, 1, 10], invalid: [-1, '1', 1.5] },
  },
  {
    id: 'probe-success-threshold',
    at: [...ctr('livenessProbe.successThreshold'), ...ctr('startupProbe.successThreshold')],
    upstream: 'validateLivenessProbe / validateStartupProbe',
    type: 'integer',
    check: (v: number) => (v === 1 ? [] : [invalid(v, 'must be 1')]),
    examples: { at: 'spec.containers[0].livenessProbe.successThreshold', valid: [1], invalid: [0, 2] },
  },
  {
    id: 'probe-grace',
    at: probe('terminationGracePeriodSeconds'),
    upstream: 'validateProbe',
    type: 'integer',
    check: (v: number) => (v <= 0 ? [invalid(v, 'must be greater than 0')] : []),
    examples: { at: 'spec.containers[0].livenessProbe.terminationGracePeriodSeconds', valid: [1, 30], invalid: [0, -1] },
  },
  {
    id: 'init-container-probes',
    at: ['lifecycle', ...PROBES].map((p) => `spec.initContainers[*].${p}`),
    upstream: 'validateInitContainers',
    check: (_v: unknown, m: Match) => (m.container?.restartPolicy === 'Always' ? [] : [forbidden('may not be set for init containers without restartPolicy=Always')]),
    examples: { at: 'spec.initContainers[0].readinessProbe', valid: [], invalid: [{ exec: { command: ['true'] } }] },
  },
  {
    id: 'probe-port',
    at: [...probe('httpGet.port'), ...probe('tcpSocket.port')],
    upstream: 'ValidatePortNumOrName',
    type: 'int-or-string',
    required: true,
    check: (v: number | string) => invalidEach(v, typeof v === 'number' ? isValidPortNum(v) : isValidPortName(v)),
    examples: { at: 'spec.containers[0].livenessProbe.httpGet.port', valid: [1, 65535, 'http', 'a-1'], invalid: [0, -1, 65536, '12345', 'two--hyphens', 'longerthan15characters'] },
  },
  {
    id: 'grpc-port',
    at: probe('grpc.port'),
    upstream: 'validateGRPCAction',
    type: 'integer',
    required: true,
    check: int(isValidPortNum),
    examples: { at: 'spec.containers[0].livenessProbe.grpc.port', valid: [1, 9090, 65535], invalid: [0, 65536, 'grpc'] },
  },
  {
    id: 'http-path',
    at: probe('httpGet.path'),
    upstream: 'validateHTTPGetAction',
    type: 'string',
    required: true,
    examples: { at: 'spec.containers[0].livenessProbe.httpGet.path', valid: ['/', '/healthz'], invalid: [''] },
  },
  {
    id: 'http-scheme',
    at: probe('httpGet.scheme'),
    upstream: 'validateHTTPGetAction (supportedHTTPSchemes)',
    type: 'string',
    required: true,
    check: oneOf(['HTTP', 'HTTPS']),
    examples: { at: 'spec.containers[0].livenessProbe.httpGet.scheme', valid: ['HTTP', 'HTTPS'], invalid: ['http', 'FTP'] },
  },
  {
    id: 'http-header-name',
    at: probe('httpGet.httpHeaders[*].name'),
    upstream: 'validateHTTPGetAction (IsHTTPHeaderName)',
    type: 'string',
    required: true,
    check: str(isHTTPHeaderName),
    examples: { at: 'spec.containers[0].livenessProbe.httpGet.httpHeaders[0].name', valid: ['X-Header-Name', 'Host', 'a1'], invalid: ['', 'X Header', 'X:Header', 'Ç'] },
  },
  {
    id: 'exec-command',
    at: probe('exec.command'),
    upstream: 'validateExecAction',
    type: 'list',
    required: true,
    examples: { at: 'spec.containers[0].livenessProbe.exec.command', valid: [['true']], invalid: [[]] },
  },

  // --- resources (ValidateContainerResourceRequirements) -------------------------------------------
  { id: 'resources', at: ctr('resources'), upstream: 'validateResourceRequirements', type: 'object', check: requestsWithinLimits, examples: {
    valid: [{ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } }, { requests: { cpu: '1' } }],
    invalid: [{ requests: { cpu: '2' }, limits: { cpu: '1' } }, { requests: { 'hugepages-2Mi': '2Mi', cpu: '1' } }, { requests: { 'example.com/a': '2' }, limits: { 'example.com/a': '1' } }],
  } },
  {
    id: 'resource-name',
    at: [...ctr('resources.limits{k}'), ...ctr('resources.requests{k}')],
    upstream: 'ValidateContainerResourceName',
    check: resourceName,
    examples: {
      at: 'spec.containers[0].resources.limits',
      valid: [{ cpu: '1' }, { memory: '1Gi' }, { 'ephemeral-storage': '1Gi' }, { 'example.com/a': '1' }],
      invalid: [{ disk: '1' }, { 'kubernetes.io/disk': '1' }, { 'my_resource/a': '1' }, { 'a/b/c': '1' }],
    },
  },
  {
    id: 'resource-quantity',
    at: [...ctr('resources.limits{v}'), ...ctr('resources.requests{v}')],
    upstream: 'ValidateResourceQuantityValue (ParseQuantity, ValidateNonnegativeQuantity)',
    type: 'quantity',
    check: (v: string | number) => {
      const q = parseQuantity(v);
      if (q === undefined) return [invalid(v, `quantities must match the regular expression '${QUANTITY_RE}'`)];
      return q < 0 ? [invalid(String(v), 'must be greater than or equal to 0')] : [];
    },
    examples: { at: 'spec.containers[0].resources.limits[cpu]', valid: ['0', '0n', '0Ki', '100m', '1.5Gi', '1e3', 5], invalid: ['1.1.M', '1+1.0M', '0.1mi', '0.1am', 'aoeu', '.5i', '1i', '-3.01i', '-3.01e-', ' 1', '1 ', '-1'] },
  },

  // --- security context (the fields the runtimes honour) ------------------------------------------
  {
    id: 'run-as-user',
    at: [...ctr('securityContext.runAsUser'), 'spec.securityContext.runAsUser'],
    upstream: 'ValidateSecurityContext (IsValidUserID)',
    type: 'integer',
    check: int(isValidUserID),
    examples: { at: 'spec.containers[0].securityContext.runAsUser', valid: [0, 1, 1000, 65535, 2147483647], invalid: [-1, -1003, 2147483648, 4147483647] },
  },
  {
    id: 'run-as-group',
    at: [...ctr('securityContext.runAsGroup'), 'spec.securityContext.runAsGroup', 'spec.securityContext.supplementalGroups[*]', 'spec.securityContext.fsGroup'],
    upstream: 'ValidateSecurityContext / validatePodSpecSecurityContext (IsValidGroupID)',
    type: 'integer',
    check: int(isValidGroupID),
    examples: { at: 'spec.securityContext.runAsGroup', valid: [0, 1, 1000, 65535, 2147483647], invalid: [-1, -1003, 2147483648, 4147483647] },
  },
  {
    id: 'security-context-bools',
    at: ['privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'runAsNonRoot'].flatMap((f) => ctr(`securityContext.${f}`)),
    upstream: 'SecurityContext (*bool fields)',
    type: 'boolean',
    examples: { at: 'spec.containers[0].securityContext.privileged', valid: [true, false], invalid: ['true'] },
  },
  {
    id: 'privilege-escalation',
    at: ctr('securityContext'),
    upstream: 'ValidateSecurityContext',
    type: 'object',
    check: (v: JsonObject) => {
      if (v.allowPrivilegeEscalation !== false) return [];
      const out: Finding[] = [];
      if (v.privileged === true) out.push(invalid('', 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
      const add = isObject(v.capabilities) && Array.isArray(v.capabilities.add) ? v.capabilities.add : [];
      if (add.includes('CAP_SYS_ADMIN')) out.push(invalid('', 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
      return out;
    },
    examples: {
      at: 'spec.containers[0].securityContext',
      valid: [{ allowPrivilegeEscalation: false }, { privileged: true }, { allowPrivilegeEscalation: true, privileged: true }],
      invalid: [{ allowPrivilegeEscalation: false, privileged: true }, { allowPrivilegeEscalation: false, capabilities: { add: ['CAP_SYS_ADMIN'] } }],
    },
  },
  { id: 'capabilities', at: [...ctr('securityContext.capabilities.add[*]'), ...ctr('securityContext.capabilities.drop[*]')], upstream: 'Capabilities ([]Capability)', type: 'string', examples: { at: 'spec.containers[0].securityContext.capabilities.add[0]', valid: ['NET_ADMIN'], invalid: [1] } },
  {
    id: 'seccomp-type',
    at: [...ctr('securityContext.seccompProfile'), 'spec.securityContext.seccompProfile'],
    upstream: 'validateSeccompProfileField',
    type: 'object',
    check: (v: JsonObject, m: Match) => {
      const type = v.type;
      const f = `${m.path}.type`;
      if (type === undefined || type === '') return [required('', f)];
      if (type === 'Localhost') return typeof v.localhostProfile === 'string' && v.localhostProfile !== '' ? [] : [required('must be set when seccomp type is Localhost', `${m.path}.localhostProfile`)];
      if (type !== 'RuntimeDefault' && type !== 'Unconfined') return [notSupported(type, ['Localhost', 'RuntimeDefault', 'Unconfined'], f)];
      return v.localhostProfile !== undefined ? [invalid(v.localhostProfile, 'can only be set when seccomp type is Localhost', `${m.path}.localhostProfile`)] : [];
    },
    examples: {
      at: 'spec.securityContext.seccompProfile',
      valid: [{ type: 'RuntimeDefault' }, { type: 'Unconfined' }, { type: 'Localhost', localhostProfile: 'filename' }],
      invalid: [{}, { type: 'invalid' }, { type: 'Localhost' }, { type: 'RuntimeDefault', localhostProfile: 'filename' }],
    },
  },
  {
    id: 'sysctl-name',
    at: 'spec.securityContext.sysctls[*].name',
    upstream: 'validateSysctls (IsValidSysctlName)',
    type: 'string',
    required: true,
    check: (v: string, m: Match) => [...invalidEach(v, isValidSysctlName(v)), ...uniqueIn('name')(v, m)],
    examples: { at: 'spec.securityContext.sysctls[0].name', valid: ['a.b.c.d', 'a', 'a_b', 'a-b', 'abc', 'abc.def', 'a/b/c/d', 'a/b.c'], invalid: ['', 'a..b', 'a._b', '_a', 'a.', '.a', 'a/', '/a', 'Abc', 'abc$'] },
  },

  // --- volumes (ValidateVolumes) ----------------------------------------------------------------------
  { id: 'volumes', at: 'spec.volumes', upstream: 'ValidateVolumes', type: 'list', examples: { valid: [[]], invalid: [{ name: 'data' }] } },
  {
    id: 'volume',
    at: 'spec.volumes[*]',
    upstream: 'validateVolumeSource',
    type: 'object',
    check: exactlyOneOf(VOLUME_SOURCES, 'must specify a volume type', 'may not specify more than 1 volume type'),
    examples: { at: 'spec.volumes[0]', valid: [{ name: 'data', hostPath: { path: '/var/lib/data' } }, { name: 'data', emptyDir: {} }], invalid: [{ name: 'data' }, { name: 'data', hostPath: { path: '/foo' }, emptyDir: {} }] },
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
    check: (_v: unknown, m: Match) => [forbidden(`a static pod cannot use ${m.path.slice(m.path.lastIndexOf('.') + 1)} volumes (they need the API server); use a hostPath volume`)],
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
      if (!key && op !== 'Exists') out.push(invalid(op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"', `${m.path}.operator`));
      if (v.tolerationSeconds !== undefined && v.effect !== 'NoExecute') out.push(invalid(v.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set", `${m.path}.effect`));
      if (op === 'Equal' || op === '') {
        const msgs = isLabelValue(value);
        if (msgs.length) out.push(invalid(value, msgs.join(';'), `${m.path}.operator`));
      } else if (op === 'Exists') {
        if (value) out.push(invalid(value, "value must be empty when `operator` is 'Exists'", `${m.path}.operator`));
      } else out.push(notSupported(op, ['Equal', 'Exists'], `${m.path}.operator`));
      if (v.effect !== undefined && v.effect !== '' && !TAINT_EFFECTS.includes(v.effect as string)) out.push(notSupported(v.effect, TAINT_EFFECTS, `${m.path}.effect`));
      return out;
    },
    examples: {
      at: 'spec.tolerations[0]',
      valid: [{ operator: 'Exists', effect: 'NoExecute' }, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }, { key: 'foo', value: 'bar', effect: 'NoExecute', tolerationSeconds: 60 }],
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
  { id: 'priority', at: 'spec.priority', upstream: 'PodSpec.Priority (*int32)', type: 'integer', check: (v: number) => (v < -(2 ** 31) || v > MAX_INT32 ? [invalid(v, inclusiveRangeError(-(2 ** 31), MAX_INT32))] : []), examples: { valid: [0, 2000001000], invalid: [2 ** 31, 'high'] } },
  { id: 'service-account', at: 'spec.serviceAccountName', upstream: 'static', type: 'string', check: (v: string) => (v === '' ? [] : [forbidden('a static pod cannot use a service account (it needs the API server)')]), examples: { valid: [''], invalid: ['default'] } },
  { id: 'ephemeral-containers', at: 'spec.ephemeralContainers', upstream: 'ValidatePodCreate', check: () => [forbidden('cannot be set on create')], examples: { valid: [], invalid: [[{ name: 'debug', image: 'busybox' }]] } },
];
