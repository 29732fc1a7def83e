/** Pod validation rows: probes, resources and security contexts of containers (the rows of rules.ts, split by area). */
import { isHTTPHeaderName, isValidGroupID, isValidPortName, isValidPortNum, isValidSysctlName, isValidUserID, parseQuantity } from './format.js';
import { forbidden, invalid, invalidEach, notSupported, required, type Finding } from './field.js';
import { isObject, type JsonObject, type Match } from './select.js';
import {
  ctr,
  PROBES,
  probe,
  oneOf,
  str,
  int,
  nonNegative,
  uniqueIn,
  QUANTITY_RE,
  PROBE_HANDLERS,
  LIFECYCLE_HANDLERS,
  resourceName,
  requestsWithinLimits,
  exactlyOneOf,
  type Rule,
} from './rule-kit.js';

export const CONTAINER_RULES: readonly Rule[] = [
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
    examples: {
      at: 'spec.containers[0].lifecycle.preStop',
      valid: [{ exec: { command: ['true'] } }, { sleep: { seconds: 1 } }, { httpGet: { port: 8080 } }],
      invalid: [{}, { exec: { command: ['true'] }, sleep: { seconds: 1 } }],
    },
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
    check: (_v: unknown, m: Match) =>
      m.container?.restartPolicy === 'Always' ? [] : [forbidden('may not be set for init containers without restartPolicy=Always')],
    examples: { at: 'spec.initContainers[0].readinessProbe', valid: [], invalid: [{ exec: { command: ['true'] } }] },
  },
  {
    id: 'probe-port',
    at: [...probe('httpGet.port'), ...probe('tcpSocket.port')],
    upstream: 'ValidatePortNumOrName',
    type: 'int-or-string',
    required: true,
    check: (v: number | string) => invalidEach(v, typeof v === 'number' ? isValidPortNum(v) : isValidPortName(v)),
    examples: {
      at: 'spec.containers[0].livenessProbe.httpGet.port',
      valid: [1, 65535, 'http', 'a-1'],
      invalid: [0, -1, 65536, '12345', 'two--hyphens', 'longerthan15characters'],
    },
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
    examples: {
      at: 'spec.containers[0].livenessProbe.httpGet.httpHeaders[0].name',
      valid: ['X-Header-Name', 'Host', 'a1'],
      invalid: ['', 'X Header', 'X:Header', 'Ç'],
    },
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
  {
    id: 'resources',
    at: ctr('resources'),
    upstream: 'validateResourceRequirements',
    type: 'object',
    check: requestsWithinLimits,
    examples: {
      valid: [{ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } }, { requests: { cpu: '1' } }],
      invalid: [
        { requests: { cpu: '2' }, limits: { cpu: '1' } },
        { requests: { 'hugepages-2Mi': '2Mi', cpu: '1' } },
        { requests: { 'example.com/a': '2' }, limits: { 'example.com/a': '1' } },
      ],
    },
  },
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
    examples: {
      at: 'spec.containers[0].resources.limits[cpu]',
      valid: ['0', '0n', '0Ki', '100m', '1.5Gi', '1e3', 5],
      invalid: ['1.1.M', '1+1.0M', '0.1mi', '0.1am', 'aoeu', '.5i', '1i', '-3.01i', '-3.01e-', ' 1', '1 ', '-1'],
    },
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
      invalid: [
        { allowPrivilegeEscalation: false, privileged: true },
        { allowPrivilegeEscalation: false, capabilities: { add: ['CAP_SYS_ADMIN'] } },
      ],
    },
  },
  {
    id: 'capabilities',
    at: [...ctr('securityContext.capabilities.add[*]'), ...ctr('securityContext.capabilities.drop[*]')],
    upstream: 'Capabilities ([]Capability)',
    type: 'string',
    examples: { at: 'spec.containers[0].securityContext.capabilities.add[0]', valid: ['NET_ADMIN'], invalid: [1] },
  },
  {
    id: 'seccomp-type',
    at: [...ctr('securityContext.seccompProfile'), 'spec.securityContext.seccompProfile'],
    upstream: 'validateSeccompProfileField',
    type: 'object',
    check: (v: JsonObject, m: Match) => {
      const type = v.type;
      const f = `${m.path}.type`;
      if (type === undefined || type === '') return [required('', f)];
      if (type === 'Localhost')
        return typeof v.localhostProfile === 'string' && v.localhostProfile !== ''
          ? []
          : [required('must be set when seccomp type is Localhost', `${m.path}.localhostProfile`)];
      if (type !== 'RuntimeDefault' && type !== 'Unconfined') return [notSupported(type, ['Localhost', 'RuntimeDefault', 'Unconfined'], f)];
      return v.localhostProfile !== undefined
        ? [invalid(v.localhostProfile, 'can only be set when seccomp type is Localhost', `${m.path}.localhostProfile`)]
        : [];
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
    examples: {
      at: 'spec.securityContext.sysctls[0].name',
      valid: ['a.b.c.d', 'a', 'a_b', 'a-b', 'abc', 'abc.def', 'a/b/c/d', 'a/b.c'],
      invalid: ['', 'a..b', 'a._b', '_a', 'a.', '.a', 'a/', '/a', 'Abc', 'abc$'],
    },
  },
];
