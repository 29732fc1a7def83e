/** The `kubestrap ps` table (kubectl get pods' columns, from the agent's /pods and /errors) and its certificate warnings. */
import type { V1Pod, V1PodList } from '@kubernetes/client-node';
import { ANNOTATION_ERRORS, ANNOTATION_SEEN, ANNOTATION_SOURCE_ERROR, EXPIRY_WARNING_MS, expiriesFromMetrics, type SourceErrorList } from '../agent/index.js';

/** kubectl's short age: 45s, 3m, 5h, 2d. */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** kubectl's STATUS: a container's waiting/terminated reason wins over the phase. */
function podStatus(pod: V1Pod): string {
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const reason = cs.state?.waiting?.reason ?? (cs.state?.terminated && pod.status?.phase === 'Running' ? cs.state.terminated.reason : undefined);
    if (reason) return reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

/** The `kubestrap ps` table; errors of origins without a pod follow the table. */
export function psTable(list: V1PodList, errors: SourceErrorList, now = Date.now()): string {
  const rows: string[][] = [['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'ERROR']];
  for (const pod of list.items) {
    const statuses = pod.status?.containerStatuses ?? [];
    const total = pod.spec?.containers.length ?? statuses.length;
    const ready = statuses.filter((c) => c.ready).length;
    const restarts = statuses.reduce((n, c) => n + c.restartCount, 0);
    const started = pod.status?.startTime ?? pod.metadata?.annotations?.[ANNOTATION_SEEN];
    const age = started ? shortAge(now - new Date(started).getTime()) : '<unknown>';
    const err = pod.metadata?.annotations?.[ANNOTATION_SOURCE_ERROR]
      ? 'manifest error: running last good'
      : (pod.metadata?.annotations?.[ANNOTATION_ERRORS] ?? '');
    rows.push([pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', `${ready}/${total}`, podStatus(pod), String(restarts), age, err]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd(),
  );
  // a refused manifest has one line per violation, each naming the file and field
  for (const e of errors.items) {
    const kept = e.keptPod ? ` (still running: ${e.keptPod.namespace}/${e.keptPod.name})` : '';
    const parts = e.message.split('\n');
    parts.forEach((line, i) => lines.push(`error: ${line}${i === parts.length - 1 ? kept : ''}`));
  }
  return `${lines.join('\n')}\n`;
}

/** `warning:` lines for certificates that expire within 30 days (from the agent's /metrics). */
export function expiryWarnings(metrics: string, now = Date.now()): string[] {
  return expiriesFromMetrics(metrics)
    .filter((c) => c.notAfter.getTime() - now < EXPIRY_WARNING_MS)
    .map((c) => {
      const left = c.notAfter.getTime() - now;
      const when = left <= 0 ? `expired ${shortAge(-left)} ago` : `expires in ${shortAge(left)}`;
      return `warning: certificate ${c.file} ${when} (${c.notAfter.toISOString()}): run "kubestrap certs renew all"`;
    });
}
