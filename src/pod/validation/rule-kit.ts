/** What the rows of rules-*.ts are built from: the Rule shape, field patterns and check helpers. */
import { isQualifiedName, parseQuantity } from './format.js';
import { duplicate, forbidden, invalid, invalidEach, notSupported, required, type Finding } from './field.js';
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
export const ctr = (rest: string): string[] => [`spec.containers[*].${rest}`, `spec.initContainers[*].${rest}`];
export const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
export const probe = (rest: string): string[] => PROBES.flatMap((p) => ctr(rest ? `${p}.${rest}` : p));

export const oneOf =
  (supported: readonly string[]) =>
  (v: string): Finding[] =>
    supported.includes(v) ? [] : [notSupported(v, supported)];
export const str =
  (fn: (v: string) => readonly string[]) =>
  (v: string): Finding[] =>
    invalidEach(v, fn(v));
export const int =
  (fn: (v: number) => readonly string[]) =>
  (v: number): Finding[] =>
    invalidEach(v, fn(v));
export const nonNegative = (v: number): Finding[] => (v < 0 ? [invalid(v, 'must be greater than or equal to 0')] : []);
/** Unique within the list the match is in, by the matched field. */
export const uniqueIn =
  (field: string) =>
  (v: string, m: Match): Finding[] =>
    m.list!.slice(0, m.index).some((o) => isObject(o) && o[field] === v) ? [duplicate(v)] : [];

export const LONG = 'a'.repeat(63);
/** apimachinery's splitREString, quoted in its parse error. */
export const QUANTITY_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const MAX_INT32 = 2 ** 31 - 1;
export const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024;

/** Every volume source of core.VolumeSource (validateVolumeSource counts them). */
export const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
] as const;
/** Sources that need API objects or a CSI driver the agent does not have (kubelet: static pods may not use them). */
export const API_VOLUME_SOURCES = ['secret', 'configMap', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'];
export const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];
export const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
export const OVERCOMMIT_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];
export const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;
export const LIFECYCLE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'sleep'] as const;
export const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
export const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'] as const;

export function resourceName(name: string): Finding[] {
  const msgs = isQualifiedName(name);
  if (msgs.length) return invalidEach(name, msgs);
  if (!name.includes('/')) {
    return STANDARD_CONTAINER_RESOURCES.includes(name) || name.startsWith('hugepages-') ? [] : [invalid(name, 'must be a standard resource for containers')];
  }
  // native (kubernetes.io/…) names other than the standard ones are not container resources
  if (name.includes('kubernetes.io/')) return [invalid(name, 'must be a standard resource for containers')];
  return [];
}

export function requestsWithinLimits(res: JsonObject, m: Match): Finding[] {
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
export const exactlyOneOf =
  (fields: readonly string[], none: string, more: string) =>
  (v: JsonObject, m: Match): Finding[] => {
    const set = fields.filter((f) => v[f] !== undefined && v[f] !== null);
    if (set.length === 0) return [required(none)];
    return set.slice(1).map((f) => forbidden(more, `${m.path}.${f}`));
  };

export const noBacksteps = (p: string): Finding[] => (p.split('/').includes('..') ? [invalid(p, "must not contain '..'")] : []);
export const localDescending = (p: string): Finding[] => [...(p.startsWith('/') ? [invalid(p, 'must be a relative path')] : []), ...noBacksteps(p)];
