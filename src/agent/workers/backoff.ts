/**
 * CrashLoopBackOff as the kubelet does it (client-go flowcontrol.Backoff keyed per container): the
 * first crash restarts at once, later ones wait 10 s, 20 s, 40 s … up to 5 min; a container that ran
 * longer than 10 minutes since its last restart starts the sequence over.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const CRASH_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export class CrashBackoff {
  private entry?: { backoffMs: number; lastUpdate: number };

  constructor(private readonly policy: BackoffPolicy = CRASH_BACKOFF) {}

  /** How long to wait before restarting a container that finished at `finishedAt`. */
  delay(finishedAt: number, now: number): number {
    const e = this.entry;
    if (!e || finishedAt - e.lastUpdate > this.policy.resetAfterMs) return 0;
    return Math.max(0, e.backoffMs - (now - finishedAt));
  }

  /** Records a restart at `now` (kubelet: backOff.Next), growing the next delay. */
  restarted(now: number): void {
    const e = this.entry;
    if (!e || now - e.lastUpdate > this.policy.resetAfterMs) {
      this.entry = { backoffMs: this.policy.initialMs, lastUpdate: now };
      return;
    }
    this.entry = { backoffMs: Math.min(e.backoffMs * 2, this.policy.maxMs), lastUpdate: now };
  }
}
