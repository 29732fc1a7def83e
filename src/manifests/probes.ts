/** kubeadm's probe shapes (cmd/kubeadm/app/util/staticpod/utils.go). */
import type { ProbeSpec } from './spec.js';

type Timing = Pick<ProbeSpec, 'initialDelaySeconds' | 'timeoutSeconds' | 'failureThreshold' | 'periodSeconds'>;
type Target = Pick<ProbeSpec, 'host' | 'path' | 'scheme'>;

/** Liveness waits one period before the first check; readiness starts at once and checks every second. */
const LIVENESS: Timing = { initialDelaySeconds: 10, timeoutSeconds: 15, failureThreshold: 8, periodSeconds: 10 };
const READINESS: Timing = { initialDelaySeconds: 0, timeoutSeconds: 15, failureThreshold: 3, periodSeconds: 1 };
const STARTUP_PERIOD_SECONDS = 10;

export function livenessProbe(target: Target): ProbeSpec {
  return { ...target, ...LIVENESS };
}

export function readinessProbe(target: Target): ProbeSpec {
  return { ...target, ...READINESS };
}

/** The startup probe allows the whole controlPlaneComponentHealthCheck timeout (4m → 24 failures). */
export function startupProbe(target: Target, healthCheckTimeoutMs: number): ProbeSpec {
  const failureThreshold = Math.ceil(healthCheckTimeoutMs / 1000 / STARTUP_PERIOD_SECONDS);
  return {
    ...target,
    initialDelaySeconds: STARTUP_PERIOD_SECONDS,
    timeoutSeconds: 15,
    failureThreshold,
    periodSeconds: STARTUP_PERIOD_SECONDS,
  };
}

/** An unspecified bind address cannot be probed; '' makes the kubelet use the pod IP (kubernetes#86504). */
export function probeHost(address: string): string {
  return address === '0.0.0.0' || address === '::' ? '' : address;
}
