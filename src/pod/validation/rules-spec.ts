/** Pod validation rows: the pod spec (the rows of rules.ts, split by area). */
import { PULL_POLICIES } from '../../constants.js';
import { isDNS1123Label, isQualifiedName, isRelaxedEnvVarName, isValidPortName, isValidPortNum } from './format.js';
import { duplicate, forbidden, invalid, invalidEach, notFound, notSupported, required } from './field.js';
import { isObject, type JsonObject, type Match } from './select.js';
import { ctr, oneOf, str, uniqueIn, LONG, ENV_FIELD_PATHS, ENV_SOURCES, localDescending, type Rule } from './rule-kit.js';

export const SPEC_RULES: readonly Rule[] = [
  // --- spec ------------------------------------------------------------------------------------------
  {
    id: 'spec',
    at: 'spec',
    upstream: 'ValidatePodSpec',
    type: 'object',
    required: true,
    examples: { valid: [{ containers: [{ name: 'a', image: 'i' }] }], invalid: ['spec'] },
  },
  {
    id: 'containers',
    at: 'spec.containers',
    upstream: 'validateContainers',
    type: 'list',
    required: true,
    examples: { valid: [[{ name: 'a', image: 'i' }]], invalid: [[], { name: 'a' }] },
  },
  {
    id: 'init-containers',
    at: 'spec.initContainers',
    upstream: 'validateInitContainers',
    type: 'list',
    examples: { valid: [[], [{ name: 'init', image: 'i' }]], invalid: [{}] },
  },
  {
    id: 'container',
    at: ['spec.containers[*]', 'spec.initContainers[*]'],
    upstream: 'validateContainers',
    type: 'object',
    examples: { at: 'spec.containers[0]', valid: [{ name: 'a', image: 'i' }], invalid: ['a'] },
  },
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
  {
    id: 'command',
    at: [...ctr('command'), ...ctr('args')],
    upstream: 'Container.Command/Args ([]string)',
    type: 'list',
    examples: { valid: [['sh'], []], invalid: ['sh -c'] },
  },
  {
    id: 'command-item',
    at: [...ctr('command[*]'), ...ctr('args[*]')],
    upstream: 'Container.Command/Args ([]string)',
    type: 'string',
    examples: { at: 'spec.containers[0].command', valid: [['sh', '-c', 'x']], invalid: [['sh', 1]] },
  },
  { id: 'working-dir', at: ctr('workingDir'), upstream: 'Container.WorkingDir (string)', type: 'string', examples: { valid: ['/tmp'], invalid: [1] } },
  {
    id: 'image-pull-policy',
    at: ctr('imagePullPolicy'),
    upstream: 'validatePullPolicy',
    type: 'string',
    required: true,
    check: oneOf([...PULL_POLICIES]),
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
  {
    id: 'port',
    at: ctr('ports[*]'),
    upstream: 'validateContainerPorts',
    type: 'object',
    examples: { at: 'spec.containers[0].ports[0]', valid: [{ containerPort: 80 }], invalid: [80] },
  },
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
      (pod.spec as JsonObject).hostNetwork === true && v !== 0 && v !== m.parent.containerPort
        ? [invalid(v, 'must match `containerPort` when `hostNetwork` is true')]
        : [],
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
  {
    id: 'env-var',
    at: ctr('env[*]'),
    upstream: 'ValidateEnv',
    type: 'object',
    examples: { at: 'spec.containers[0].env[0]', valid: [{ name: 'A' }], invalid: ['A=b'] },
  },
  {
    id: 'env-name',
    at: ctr('env[*].name'),
    upstream: 'ValidateEnv (IsRelaxedEnvVarName, GA since 1.34)',
    type: 'string',
    required: true,
    check: str(isRelaxedEnvVarName),
    examples: {
      at: 'spec.containers[0].env[0].name',
      valid: [
        '-',
        ':',
        '_',
        '+a',
        '>a',
        '<a',
        'a.',
        'a..',
        '*a',
        '%a',
        '?a',
        'a:a',
        'a_a',
        'aAz',
        '~a',
        '|a',
        'a0a',
        'a9',
        '/a',
        'a ',
        '#a',
        '0a',
        '0 a',
        "'a",
        '(a',
        '@a',
      ],
      invalid: ['', '=', 'a=', '1=a', 'a=b', '#%=&&', `${String.fromCharCode(1)}abc`, `${String.fromCharCode(130)}abc`, 'Ç ç', 'Ä ä', 'Ñ ñ', 'Ø ø'],
    },
  },
  {
    id: 'env-value',
    at: ctr('env[*].value'),
    upstream: 'EnvVar.Value (string)',
    type: 'string',
    examples: { at: 'spec.containers[0].env[0].value', valid: ['', 'x'], invalid: [1, true] },
  },
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
      valid: [
        'metadata.name',
        'metadata.namespace',
        'spec.nodeName',
        'status.hostIP',
        'status.podIPs',
        "metadata.labels['app']",
        "metadata.annotations['kubernetes.io/config.hash']",
      ],
      invalid: ['', 'metadata.whoops', 'status.phase', "metadata.labels['a/b/c']"],
    },
  },
  {
    id: 'env-api-objects',
    at: ctr('env[*].valueFrom'),
    upstream: 'static',
    type: 'object',
    check: (v: JsonObject) =>
      v.secretKeyRef !== undefined || v.configMapKeyRef !== undefined
        ? [forbidden('a static pod cannot read secrets or config maps (they need the API server)')]
        : [],
    examples: {
      at: 'spec.containers[0].env[0].valueFrom',
      valid: [{ fieldRef: { fieldPath: 'status.hostIP' } }],
      invalid: [{ secretKeyRef: { name: 's', key: 'k' } }, { configMapKeyRef: { name: 'c', key: 'k' } }],
    },
  },
  {
    id: 'env-from',
    at: ctr('envFrom'),
    upstream: 'static',
    check: () => [forbidden('a static pod cannot read secrets or config maps (they need the API server)')],
    examples: { valid: [], invalid: [[{ configMapRef: { name: 'c' } }]] },
  },
  { id: 'volume-mounts', at: ctr('volumeMounts'), upstream: 'ValidateVolumeMounts', type: 'list', examples: { valid: [[]], invalid: [{ name: 'data' }] } },
  {
    id: 'volume-mount',
    at: ctr('volumeMounts[*]'),
    upstream: 'ValidateVolumeMounts',
    type: 'object',
    examples: { at: 'spec.containers[0].volumeMounts[0]', valid: [{ name: 'data', mountPath: '/foo' }], invalid: ['data:/foo'] },
  },
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
  {
    id: 'read-only',
    at: [...ctr('volumeMounts[*].readOnly'), 'spec.hostNetwork', 'spec.hostPID', 'spec.hostIPC'],
    upstream: 'bool fields',
    type: 'boolean',
    examples: { at: 'spec.containers[0].volumeMounts[0].readOnly', valid: [true, false], invalid: ['yes', 1] },
  },
];
