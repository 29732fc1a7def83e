/**
 * The API defaults a static pod gets before it is validated and run: what the kubelet gets for free
 * from its decoder (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go), the subset a static Pod uses.
 * Shared by the agent (resolved pods) and pod validation (required fields are checked after them,
 * as the API server does).
 */
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';

const PROBE_DEFAULTS = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 } as const;

/** Always for `:latest` or an untagged image, else IfNotPresent (digests count as tagged). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0) return 'Always';
  return lastPart.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

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
