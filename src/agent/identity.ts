/**
 * Static pod identity, as the kubelet gives it (pkg/kubelet/config/common.go applyDefaults), with
 * one deliberate difference: the UID is our own hash of node, origin and *canonical manifest
 * content*, not a hash of the defaulted Go struct, so it stays the same across agent restarts and
 * agent upgrades (kubelet issues #67537, #116080) and is what lets the agent adopt what still runs.
 *
 * Also here: manifest validation (each error names the file and the field) and the API defaults the
 * kubelet gets for free from its decoder (restartPolicy, grace period, probe defaults, ...).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { ManifestError } from '../errors.js';
import { defaultPullPolicy } from '../pod/pull-policy.js';
import type { StaticPod } from './pod-types.js';

import { ANNOTATION_HASH, ANNOTATION_SEEN, ANNOTATION_SOURCE } from './annotations.js';

export type SourceKind = StaticPod['source'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** JSON with object keys sorted at every level: the same manifest in any key order, YAML or JSON, hashes alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * The pod UID and `config.hash`: sha256 over node, origin and canonical content, 32 hex characters
 * (the kubelet's hash is 32 hex characters too). The origin is in it so that two files with the same
 * content (an editor's copy) never share a UID (kubernetes PR #87461).
 */
export function podUid(nodeName: string, source: SourceKind, origin: string, manifest: unknown): string {
  const h = createHash('sha256');
  // The HTTP source leaves the node out, as the kubelet does: same URL and body → same UID everywhere.
  if (source === 'file') h.update(`host:${nodeName}\0`);
  h.update(`${source === 'file' ? 'file' : 'url'}:${origin}\0`);
  h.update(canonicalJson(manifest));
  return h.digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------------------------------------
// Validation

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Volume sources that need API objects; static pods may not use them (kubelet PR #131837). */
const API_VOLUME_SOURCES = ['secret', 'configMap', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral', 'csi'] as const;

class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, message: string, hint?: string): never {
    throw new ManifestError(message, { file: this.file, field, hint });
  }

  object(v: unknown, field: string): JsonObject {
    if (!isObject(v)) this.fail(field, 'must be a mapping');
    return v;
  }

  array(v: unknown, field: string): Json[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, 'must be a list');
    return v as Json[];
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string' || v === '') this.fail(field, 'is required (a non-empty string)');
    return v;
  }

  optionalString(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v;
  }

  integer(v: unknown, field: string, min: number, max: number): void {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `must be an integer from ${min} to ${max}`);
  }
}

/**
 * Checks a decoded manifest is a Pod the agent can run; throws ManifestError naming the file and
 * field. `kind: Pod` only: a PodList is refused here (the HTTP source unpacks lists itself).
 */
export function validateManifest(doc: unknown, file: string): V1Pod {
  const c = new Checker(file);
  const pod = c.object(doc, '');
  if (pod.kind !== 'Pod') {
    const kind = typeof pod.kind === 'string' ? pod.kind : 'none';
    c.fail('kind', `is ${JSON.stringify(kind)}, must be "Pod"`, kind === 'PodList' ? 'put one Pod per file' : 'a static pod manifest is one kind: Pod');
  }
  if (pod.apiVersion !== 'v1') c.fail('apiVersion', `is ${JSON.stringify(pod.apiVersion ?? null)}, must be "v1"`);

  const meta = c.object(pod.metadata, 'metadata');
  const name = c.string(meta.name, 'metadata.name');
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    c.fail('metadata.name', `"${name}" is not a valid name`, 'lowercase letters, digits, "-" and "." (DNS-1123 subdomain)');
  }
  const ns = c.optionalString(meta.namespace, 'metadata.namespace');
  if (ns !== undefined && ns !== '' && (ns.length > 63 || !DNS1123_LABEL.test(ns))) {
    c.fail('metadata.namespace', `"${ns}" is not a valid namespace`, 'lowercase letters, digits and "-" (DNS-1123 label)');
  }
  for (const key of ['labels', 'annotations'] as const) {
    if (meta[key] === undefined || meta[key] === null) continue;
    const map = c.object(meta[key], `metadata.${key}`);
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') c.fail(`metadata.${key}.${k}`, 'must be a string', 'quote the value');
    }
  }

  const spec = c.object(pod.spec, 'spec');
  const volumeNames = new Set<string>();
  c.array(spec.volumes, 'spec.volumes').forEach((raw, i) => {
    const field = `spec.volumes[${i}]`;
    const vol = c.object(raw, field);
    const vname = c.string(vol.name, `${field}.name`);
    if (!DNS1123_LABEL.test(vname)) c.fail(`${field}.name`, `"${vname}" is not a valid volume name`, 'lowercase letters, digits and "-"');
    if (volumeNames.has(vname)) c.fail(`${field}.name`, `volume "${vname}" is defined twice`);
    volumeNames.add(vname);
    for (const src of API_VOLUME_SOURCES) {
      if (vol[src] !== undefined) c.fail(`${field}.${src}`, `a static pod cannot use ${src} volumes (they need the API server)`, 'use a hostPath volume');
    }
    if (vol.hostPath !== undefined) {
      const hp = c.object(vol.hostPath, `${field}.hostPath`);
      const p = c.string(hp.path, `${field}.hostPath.path`);
      if (!path.isAbsolute(p)) c.fail(`${field}.hostPath.path`, `"${p}" is not an absolute path`);
    }
  });
  if (spec.serviceAccountName !== undefined && spec.serviceAccountName !== null && spec.serviceAccountName !== '') {
    c.fail('spec.serviceAccountName', 'a static pod cannot use a service account (it needs the API server)', 'remove the field');
  }

  const containers = c.array(spec.containers, 'spec.containers');
  if (containers.length === 0) c.fail('spec.containers', 'at least one container is required');
  const containerNames = new Set<string>();
  const checkContainers = (list: Json[], listField: string): void => {
    list.forEach((raw, i) => {
      const field = `${listField}[${i}]`;
      const ct = c.object(raw, field);
      const cname = c.string(ct.name, `${field}.name`);
      if (cname.length > 63 || !DNS1123_LABEL.test(cname)) {
        c.fail(`${field}.name`, `"${cname}" is not a valid container name`, 'lowercase letters, digits and "-" (DNS-1123 label)');
      }
      if (containerNames.has(cname)) c.fail(`${field}.name`, `container name "${cname}" is used twice`);
      containerNames.add(cname);
      c.string(ct.image, `${field}.image`);
      for (const key of ['command', 'args'] as const) {
        c.array(ct[key], `${field}.${key}`).forEach((a, j) => {
          if (typeof a !== 'string') c.fail(`${field}.${key}[${j}]`, 'must be a string', 'quote it');
        });
      }
      c.array(ct.env, `${field}.env`).forEach((rawEnv, j) => {
        const env = c.object(rawEnv, `${field}.env[${j}]`);
        c.string(env.name, `${field}.env[${j}].name`);
        if (env.value !== undefined && env.value !== null && typeof env.value !== 'string') {
          c.fail(`${field}.env[${j}].value`, 'must be a string', 'quote it');
        }
        if (isObject(env.valueFrom) && (env.valueFrom.secretKeyRef !== undefined || env.valueFrom.configMapKeyRef !== undefined)) {
          c.fail(`${field}.env[${j}].valueFrom`, 'a static pod cannot read secrets or config maps (they need the API server)');
        }
      });
      if (ct.envFrom !== undefined && ct.envFrom !== null) {
        c.fail(`${field}.envFrom`, 'a static pod cannot read secrets or config maps (they need the API server)');
      }
      c.array(ct.ports, `${field}.ports`).forEach((rawPort, j) => {
        const port = c.object(rawPort, `${field}.ports[${j}]`);
        if (port.containerPort === undefined) c.fail(`${field}.ports[${j}].containerPort`, 'is required');
        c.integer(port.containerPort, `${field}.ports[${j}].containerPort`, 1, 65535);
        c.integer(port.hostPort, `${field}.ports[${j}].hostPort`, 0, 65535);
      });
      c.array(ct.volumeMounts, `${field}.volumeMounts`).forEach((rawMount, j) => {
        const mfield = `${field}.volumeMounts[${j}]`;
        const mount = c.object(rawMount, mfield);
        const mname = c.string(mount.name, `${mfield}.name`);
        if (!volumeNames.has(mname)) c.fail(`${mfield}.name`, `volume "${mname}" is not defined in spec.volumes`);
        const mpath = c.string(mount.mountPath, `${mfield}.mountPath`);
        if (!path.isAbsolute(mpath)) c.fail(`${mfield}.mountPath`, `"${mpath}" is not an absolute path`);
      });
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        if (ct[probe] === undefined || ct[probe] === null) continue;
        const p = c.object(ct[probe], `${field}.${probe}`);
        const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => p[h] !== undefined);
        if (handlers.length !== 1) c.fail(`${field}.${probe}`, 'must have exactly one of exec, httpGet, tcpSocket, grpc');
        for (const n of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
          c.integer(p[n], `${field}.${probe}.${n}`, n === 'initialDelaySeconds' ? 0 : 1, 2 ** 31 - 1);
        }
      }
    });
  };
  checkContainers(containers, 'spec.containers');
  checkContainers(c.array(spec.initContainers, 'spec.initContainers'), 'spec.initContainers');

  const policy = spec.restartPolicy;
  if (policy !== undefined && policy !== 'Always' && policy !== 'OnFailure' && policy !== 'Never') {
    c.fail('spec.restartPolicy', `is ${JSON.stringify(policy)}`, 'use Always, OnFailure or Never');
  }
  c.integer(spec.terminationGracePeriodSeconds, 'spec.terminationGracePeriodSeconds', 0, 2 ** 31 - 1);
  return pod as unknown as V1Pod;
}

// ---------------------------------------------------------------------------------------------
// Defaults (what the API decoder does for the kubelet; k8s.io/kubernetes/pkg/apis/core/v1/defaults.go)

const PROBE_DEFAULTS = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 } as const;


function defaultProbe(probe: V1Probe | undefined): void {
  if (!probe) return;
  for (const [k, v] of Object.entries(PROBE_DEFAULTS) as [keyof typeof PROBE_DEFAULTS, number][]) probe[k] ??= v;
  if (probe.httpGet) {
    probe.httpGet.path ??= '/';
    probe.httpGet.scheme ??= 'HTTP';
  }
}

function defaultContainer(ct: V1Container): void {
  ct.terminationMessagePath ??= '/dev/termination-log';
  ct.terminationMessagePolicy ??= 'File';
  ct.imagePullPolicy ??= defaultPullPolicy(ct.image ?? '');
  for (const port of ct.ports ?? []) port.protocol ??= 'TCP';
  defaultProbe(ct.livenessProbe);
  defaultProbe(ct.readinessProbe);
  defaultProbe(ct.startupProbe);
  for (const env of ct.env ?? []) if (env.valueFrom?.fieldRef) env.valueFrom.fieldRef.apiVersion ??= 'v1';
}

/** The kubelet-visible API defaults, applied in place to a (copied) pod. */
export function applyPodDefaults(pod: V1Pod): void {
  const spec = pod.spec!;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const ct of spec.containers) defaultContainer(ct);
  for (const ct of spec.initContainers ?? []) defaultContainer(ct);
  for (const vol of spec.volumes ?? []) if (vol.hostPath) vol.hostPath.type ??= '';
}

// ---------------------------------------------------------------------------------------------
// Identity

export interface ResolveInput {
  /** The decoded manifest (not yet validated). */
  manifest: unknown;
  source: SourceKind;
  /** File path or URL; names the file in errors and goes into the UID. */
  origin: string;
  nodeName: string;
  /** First time this content was seen (kept by the source across relists). */
  seen: Date;
}

/** Validates a manifest and gives it the kubelet's static pod identity; throws ManifestError. */
export function resolveStaticPod(input: ResolveInput): StaticPod {
  validateManifest(input.manifest, input.origin);
  const uid = podUid(input.nodeName, input.source, input.origin, input.manifest);
  const pod = structuredClone(input.manifest) as V1Pod;
  const meta = pod.metadata!;
  meta.name = `${meta.name}-${input.nodeName.toLowerCase()}`;
  meta.namespace = meta.namespace || 'default';
  // A uid in the manifest is ignored: pinned UIDs break edit detection (kubelet #104648, #113145).
  meta.uid = uid;
  meta.annotations = {
    ...meta.annotations,
    [ANNOTATION_HASH]: uid,
    [ANNOTATION_SEEN]: input.seen.toISOString(),
    [ANNOTATION_SOURCE]: input.source,
  };
  applyPodDefaults(pod);
  const spec = pod.spec!;
  spec.nodeName = input.nodeName;
  if (input.source === 'file') {
    // As the kubelet: file pods tolerate NoExecute so taint eviction never removes them.
    const tolerations = spec.tolerations ?? [];
    if (!tolerations.some((t) => t.operator === 'Exists' && t.effect === 'NoExecute' && !t.key)) {
      tolerations.push({ operator: 'Exists', effect: 'NoExecute' });
    }
    spec.tolerations = tolerations;
  }
  pod.status = { phase: 'Pending' };
  return { uid, hash: uid, name: meta.name, namespace: meta.namespace, source: input.source, origin: input.origin, pod };
}

/** `namespace/name` of a static pod: the key the merger and duplicates checks use. */
export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}
