/**
 * Structural checks of a static Pod: what the agent (and a kubelet) need to run it. Used on every
 * rendered manifest before anything is written, so a broken template fails here, naming the field,
 * instead of as a pod that never starts.
 */
import { posix } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { PULL_POLICIES } from '../constants.js';
import { ManifestError } from '../errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** IANA_SVC_NAME: ≤15 chars, lower-case alphanumerics and '-', at least one letter, no '--'. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/;
const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];
const PROBE_HANDLERS = ['httpGet', 'tcpSocket', 'exec', 'grpc'] as const;

type Json = Record<string, unknown>;

class Checker {
  constructor(
    private readonly file: string,
    private readonly hint: string,
  ) {}

  fail(field: string, message: string): never {
    throw new ManifestError(message, { file: this.file, field, hint: this.hint });
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be a mapping');
    return value as Json;
  }

  optionalObject(value: unknown, field: string): Json | undefined {
    return value === undefined || value === null ? undefined : this.object(value, field);
  }

  array(value: unknown, field: string, { required = false } = {}): unknown[] {
    if (value === undefined || value === null) {
      if (required) this.fail(field, 'is required');
      return [];
    }
    if (!Array.isArray(value)) this.fail(field, 'must be a list');
    return value;
  }

  string(value: unknown, field: string, { required = true, pattern }: { required?: boolean; pattern?: RegExp } = {}): string {
    if (value === undefined || value === null) {
      if (required) this.fail(field, 'is required');
      return '';
    }
    if (typeof value !== 'string') this.fail(field, `must be a string, not ${JSON.stringify(value)}`);
    if (required && value === '') this.fail(field, 'must not be empty');
    if (pattern && value !== '' && !pattern.test(value)) this.fail(field, `"${value}" is not a valid name`);
    return value;
  }

  int(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer between ${min} and ${max}, not ${JSON.stringify(value)}`);
    }
    return value;
  }

  bool(value: unknown, field: string): void {
    if (value !== undefined && value !== null && typeof value !== 'boolean') this.fail(field, 'must be true or false');
  }

  absolutePath(value: unknown, field: string): string {
    const p = this.string(value, field);
    if (!posix.isAbsolute(p)) this.fail(field, `"${p}" is not an absolute path`);
    return p;
  }
}

function checkProbe(c: Checker, probe: Json, field: string, portNames: ReadonlySet<string>): void {
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length !== 1) c.fail(field, `needs exactly one handler (${PROBE_HANDLERS.join(', ')})`);
  for (const key of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']) {
    c.int(probe[key], `${field}.${key}`, key === 'initialDelaySeconds' ? 0 : 1);
  }
  const handler = handlers[0]!;
  const h = c.object(probe[handler], `${field}.${handler}`);
  if (handler === 'httpGet' || handler === 'tcpSocket' || handler === 'grpc') {
    const port = h.port;
    if (typeof port === 'string') {
      if (!portNames.has(port)) c.fail(`${field}.${handler}.port`, `names port "${port}", which the container does not declare`);
    } else if (c.int(port, `${field}.${handler}.port`, 1, 65535) === undefined) {
      c.fail(`${field}.${handler}.port`, 'is required');
    }
  }
  if (handler === 'httpGet') {
    const p = c.string(h.path, `${field}.httpGet.path`, { required: false });
    if (p && !p.startsWith('/')) c.fail(`${field}.httpGet.path`, `"${p}" must start with /`);
    c.string(h.host, `${field}.httpGet.host`, { required: false });
    const scheme = c.string(h.scheme, `${field}.httpGet.scheme`, { required: false });
    if (scheme && scheme !== 'HTTP' && scheme !== 'HTTPS') c.fail(`${field}.httpGet.scheme`, `"${scheme}" is not HTTP or HTTPS`);
  }
  if (handler === 'exec') c.array(c.object(probe.exec, `${field}.exec`).command, `${field}.exec.command`, { required: true });
}

function checkContainer(c: Checker, value: unknown, field: string, volumeNames: ReadonlySet<string>): void {
  const ctr = c.object(value, field);
  c.string(ctr.name, `${field}.name`, { pattern: DNS_LABEL });
  c.string(ctr.image, `${field}.image`);
  const command = c.array(ctr.command, `${field}.command`);
  command.forEach((arg, i) => c.string(arg, `${field}.command[${i}]`, { required: i === 0 }));
  c.array(ctr.args, `${field}.args`).forEach((arg, i) => c.string(arg, `${field}.args[${i}]`, { required: false }));
  if (command.length === 0 && ctr.args === undefined) c.fail(`${field}.command`, 'a static control-plane Pod needs a command');
  const policy = c.string(ctr.imagePullPolicy, `${field}.imagePullPolicy`, { required: false });
  if (policy && !(PULL_POLICIES as readonly string[]).includes(policy)) c.fail(`${field}.imagePullPolicy`, `"${policy}" is not a pull policy`);

  c.array(ctr.env, `${field}.env`).forEach((e, i) => {
    const env = c.object(e, `${field}.env[${i}]`);
    c.string(env.name, `${field}.env[${i}].name`);
    c.string(env.value, `${field}.env[${i}].value`, { required: false });
  });

  const portNames = new Set<string>();
  c.array(ctr.ports, `${field}.ports`).forEach((p, i) => {
    const port = c.object(p, `${field}.ports[${i}]`);
    if (c.int(port.containerPort, `${field}.ports[${i}].containerPort`, 1, 65535) === undefined) {
      c.fail(`${field}.ports[${i}].containerPort`, 'is required');
    }
    const name = c.string(port.name, `${field}.ports[${i}].name`, { required: false, pattern: PORT_NAME });
    if (name) {
      if (portNames.has(name)) c.fail(`${field}.ports[${i}].name`, `port name "${name}" is used twice`);
      portNames.add(name);
    }
    const protocol = c.string(port.protocol, `${field}.ports[${i}].protocol`, { required: false });
    if (protocol && !['TCP', 'UDP', 'SCTP'].includes(protocol)) c.fail(`${field}.ports[${i}].protocol`, `"${protocol}" is not TCP, UDP or SCTP`);
  });

  for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const probe = c.optionalObject(ctr[kind], `${field}.${kind}`);
    if (probe) checkProbe(c, probe, `${field}.${kind}`, portNames);
  }

  const resources = c.optionalObject(ctr.resources, `${field}.resources`);
  for (const kind of ['requests', 'limits']) {
    const list = c.optionalObject(resources?.[kind], `${field}.resources.${kind}`);
    for (const [k, v] of Object.entries(list ?? {})) {
      if (typeof v !== 'string' && typeof v !== 'number') c.fail(`${field}.resources.${kind}.${k}`, 'must be a quantity');
    }
  }

  c.array(ctr.volumeMounts, `${field}.volumeMounts`).forEach((m, i) => {
    const mount = c.object(m, `${field}.volumeMounts[${i}]`);
    const name = c.string(mount.name, `${field}.volumeMounts[${i}].name`);
    if (!volumeNames.has(name)) c.fail(`${field}.volumeMounts[${i}].name`, `mounts volume "${name}", which the Pod does not define`);
    c.absolutePath(mount.mountPath, `${field}.volumeMounts[${i}].mountPath`);
    c.bool(mount.readOnly, `${field}.volumeMounts[${i}].readOnly`);
  });
}

/**
 * Checks that `value` (parsed YAML) is a Pod a static-pod agent can run; throws ManifestError naming
 * `file` and the field otherwise.
 */
export function validatePod(value: unknown, file: string, hint: string): V1Pod {
  const c = new Checker(file, hint);
  const pod = c.object(value, '');
  if (pod.apiVersion !== 'v1') c.fail('apiVersion', `must be "v1", not ${JSON.stringify(pod.apiVersion)}`);
  if (pod.kind !== 'Pod') c.fail('kind', `must be "Pod", not ${JSON.stringify(pod.kind)}`);
  const meta = c.object(pod.metadata, 'metadata');
  c.string(meta.name, 'metadata.name', { pattern: DNS_SUBDOMAIN });
  c.string(meta.namespace, 'metadata.namespace', { required: false, pattern: DNS_LABEL });
  for (const key of ['labels', 'annotations']) {
    const map = c.optionalObject(meta[key], `metadata.${key}`);
    for (const [k, v] of Object.entries(map ?? {})) c.string(v, `metadata.${key}.${k}`, { required: false });
  }

  const spec = c.object(pod.spec, 'spec');
  c.bool(spec.hostNetwork, 'spec.hostNetwork');
  c.int(spec.priority, 'spec.priority', -2147483648, 2147483647);
  const volumeNames = new Set<string>();
  c.array(spec.volumes, 'spec.volumes').forEach((v, i) => {
    const vol = c.object(v, `spec.volumes[${i}]`);
    const name = c.string(vol.name, `spec.volumes[${i}].name`, { pattern: DNS_LABEL });
    if (volumeNames.has(name)) c.fail(`spec.volumes[${i}].name`, `volume "${name}" is defined twice`);
    volumeNames.add(name);
    const hostPath = c.optionalObject(vol.hostPath, `spec.volumes[${i}].hostPath`);
    if (!hostPath) return;
    c.absolutePath(hostPath.path, `spec.volumes[${i}].hostPath.path`);
    const type = c.string(hostPath.type, `spec.volumes[${i}].hostPath.type`, { required: false });
    if (!HOST_PATH_TYPES.includes(type)) c.fail(`spec.volumes[${i}].hostPath.type`, `"${type}" is not a hostPath type`);
  });
  const containers = c.array(spec.containers, 'spec.containers', { required: true });
  if (containers.length === 0) c.fail('spec.containers', 'must list at least one container');
  containers.forEach((ctr, i) => checkContainer(c, ctr, `spec.containers[${i}]`, volumeNames));
  return pod as V1Pod;
}
