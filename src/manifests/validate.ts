/**
 * Checks of a rendered static Pod before anything is written: the API server's pod rules (shared
 * with the agent, src/pod/validation), so a broken template fails here naming every field, instead
 * of as a pod the agent refuses or whose mirror pod the API server refuses; plus what init itself
 * needs of a control-plane Pod (a command).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { assertValid, validatePodDocument, type Violation } from '../pod/validation/index.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

/**
 * init's own requirements: its components run a command (the process runtime has no entrypoints),
 * and a probe's named port is one the container declares (the API server takes any name; the
 * prober then fails the probe forever, so a template typo would be a crash loop).
 */
function controlPlaneViolations(pod: V1Pod): Violation[] {
  return (pod.spec?.containers ?? []).flatMap((c, i) => {
    const field = `spec.containers[${i}]`;
    const out: Violation[] = [];
    if ((c.command ?? []).length === 0 && c.args === undefined) {
      out.push({ field: `${field}.command`, rule: 'control-plane-command', message: 'Required value: a static control-plane Pod needs a command' });
    }
    const names = new Set((c.ports ?? []).map((p) => p.name));
    for (const kind of PROBES) {
      const probe = c[kind];
      const handler = probe?.httpGet ? 'httpGet' : probe?.tcpSocket ? 'tcpSocket' : undefined;
      const port = handler ? probe![handler]!.port : undefined;
      if (typeof port === 'string' && !names.has(port)) {
        out.push({
          field: `${field}.${kind}.${handler}.port`,
          rule: 'control-plane-probe-port',
          message: `Not found: "${port}": the container does not declare this port`,
        });
      }
    }
    return out;
  });
}

/**
 * Checks that `value` (parsed YAML) is a Pod the API server accepts and init can run; throws
 * PodValidationError naming `file` and every bad field otherwise.
 */
export function validatePod(value: unknown, file: string, hint: string): V1Pod {
  const violations = validatePodDocument(value);
  assertValid(violations.length > 0 ? violations : controlPlaneViolations(value as V1Pod), file, hint);
  return value as V1Pod;
}
