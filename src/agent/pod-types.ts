/**
 * The contract between the agent's halves: sources + merger produce StaticPods and events; pod
 * workers run them and report PodState. Mirror sync (API side) only reads both.
 */
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';

/** A desired static pod, identity applied (kubelet: name-<node>, namespace, annotations, UID). */
export interface StaticPod {
  /** Deterministic UID = config hash (from node, source path and canonical content). */
  uid: string;
  /** `<metadata.name>-<node>`. */
  name: string;
  namespace: string;
  /** Which source it came from: `file` or `http`. */
  source: 'file' | 'http';
  /** The file path or URL that declared it. */
  origin: string;
  /** The kubelet's `kubernetes.io/config.hash` (same value as uid). */
  hash: string;
  /** The resolved pod: defaults applied, identity annotations set, spec.nodeName set. */
  pod: V1Pod;
}

/** What the merger tells the pod manager; `update` means the spec (hash) changed. */
export type PodEvent = { type: 'add'; pod: StaticPod } | { type: 'update'; pod: StaticPod; previous: StaticPod } | { type: 'remove'; pod: StaticPod };

/** A problem with one source entry that did not (or no longer) produce a pod. */
export interface SourceError {
  source: 'file' | 'http';
  /** File path or URL. */
  origin: string;
  message: string;
  /** The pod still running from this origin's last good content, if any (`<name>-<node>` in namespace). */
  keptPod?: { namespace: string; name: string };
  /** When the error was first seen for this content. */
  since: Date;
}

/** A worker's view of its pod, for /pods, `kubestrap ps`, metrics and the mirror pod status. */
export interface PodState {
  pod: StaticPod;
  status: V1PodStatus;
  /** Restarts summed over containers. */
  restarts: number;
  /** Errors to surface (source errors for this pod's origin, start failures, probe failures). */
  errors: string[];
}
