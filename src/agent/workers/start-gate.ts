/** A fresh pod start waits for the URLs of `kubestrap.io/start-after` (src/agent/start-order.ts). */
import type { StaticPod } from '../pod-types.js';
import { startAfterURLs, waitForURLs } from '../start-order.js';
import type { Clock } from './clock.js';
import type { Rec } from './container-record.js';
import type { WorkerLogger } from './logger.js';

export interface GateDeps {
  clock: Clock;
  logger: WorkerLogger;
  changed(): void;
}

/** Waits (at most START_AFTER_TIMEOUT_MS), showing the wait as the containers' waiting message. */
export async function waitStartAfter(pod: StaticPod, recs: Rec[], deps: GateDeps, signal: AbortSignal): Promise<void> {
  const urls = startAfterURLs(pod.pod);
  if (urls.length === 0) return;
  const t0 = deps.clock.now();
  deps.logger.info('waiting for start-after URLs', { pod: pod.name, urls: urls.join(',') });
  // shown as the containers' waiting message (`kubestrap ps`, wait-control-plane diagnostics, mirror status)
  const message = `waiting for ${urls.join(', ')} to answer (kubestrap.io/start-after)`;
  for (const r of recs) if ('waiting' in r.view) r.view = { waiting: { ...r.view.waiting, message } };
  deps.changed();
  const ok = await waitForURLs(urls, signal);
  for (const r of recs) if ('waiting' in r.view && r.view.waiting.message === message) r.view = { waiting: { reason: r.view.waiting.reason } };
  const waitedMs = deps.clock.now() - t0;
  if (ok) deps.logger.info('start-after URLs answer', { pod: pod.name, waitedMs });
  else deps.logger.warn('start-after URLs do not answer; starting anyway', { pod: pod.name, waitedMs });
}
