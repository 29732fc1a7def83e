/**
 * Static pod identity, as the kubelet gives it (pkg/kubelet/config/common.go applyDefaults), with
 * one deliberate difference: the UID is our own hash of node, origin and *canonical manifest
 * content*, not a hash of the defaulted Go struct, so it stays the same across agent restarts and
 * agent upgrades (kubelet issues #67537, #116080) and is what lets the agent adopt what still runs.
 *
 * Manifests are validated with the API server's pod rules (src/pod/validation) and get the API
 * defaults (src/pod/defaults.ts) the kubelet gets from its decoder.
 */
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { ManifestError } from '../errors.js';
import { applyPodDefaults } from '../pod/defaults.js';
import { assertValid, shapeViolations, validatePodDocument, valueViolations } from '../pod/validation/index.js';
import type { StaticPod } from './pod-types.js';

export { applyPodDefaults, defaultPullPolicy } from '../pod/defaults.js';

import { ANNOTATION_HASH, ANNOTATION_SEEN, ANNOTATION_SOURCE } from './annotations.js';

export type SourceKind = StaticPod['source'];

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
// Validation: the API server's pod rules (src/pod/validation), so no pod runs whose mirror pod
// would be refused.

const hintFor = (doc: unknown): string | undefined => ((doc as { kind?: unknown } | null)?.kind === 'PodList' ? 'put one Pod per file' : undefined);

/**
 * Checks a decoded manifest is a Pod the API server would accept; throws PodValidationError naming
 * the file and every field. `kind: Pod` only: a PodList is refused here (the HTTP source unpacks lists itself).
 */
export function validateManifest(doc: unknown, file: string): V1Pod {
  assertValid(validatePodDocument(doc), file, hintFor(doc));
  return doc as V1Pod;
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
  /** The runtime's veto (Runtime.refuses): a pod it can never run is refused like a bad manifest. */
  admit?: PodAdmission;
}

export type PodAdmission = (pod: V1Pod) => { field: string; message: string; hint?: string } | undefined;

/** Validates a manifest and gives it the kubelet's static pod identity; throws ManifestError. */
export function resolveStaticPod(input: ResolveInput): StaticPod {
  // shape first (the defaults below need it), values on the resolved pod: its name carries the node
  // suffix and its annotations the config.* keys, as the mirror pod the API server sees
  assertValid(shapeViolations(input.manifest), input.origin, hintFor(input.manifest));
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
  assertValid(valueViolations(pod as unknown as Record<string, unknown>), input.origin, hintFor(input.manifest));
  const refusal = input.admit?.(pod);
  if (refusal) throw new ManifestError(refusal.message, { file: input.origin, field: refusal.field, hint: refusal.hint });
  pod.status = { phase: 'Pending' };
  return { uid, hash: uid, name: meta.name, namespace: meta.namespace, source: input.source, origin: input.origin, pod };
}

/** `namespace/name` of a static pod: the key the merger and duplicates checks use. */
export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}
