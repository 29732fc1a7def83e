/**
 * Go `time.Duration` strings, the format kubeadm uses for ttl, timeouts and validity periods
 * ("24h0m0s", "4m", "500ms", "1.5h"). Parsed to milliseconds; printed back the way Go prints them.
 */

/** Milliseconds per Go duration unit (Go also accepts "µs" and "μs"). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds of a Go duration, or undefined when `text` is not one. Negative durations are rejected. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '' || text.startsWith('-')) return undefined;
  const rest = text.startsWith('+') ? text.slice(1) : text;
  let total = 0;
  let pos = 0;
  while (pos < rest.length) {
    PART.lastIndex = pos;
    const m = PART.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? Number.NaN);
    pos = PART.lastIndex;
  }
  return pos === 0 || !Number.isFinite(total) ? undefined : total;
}

/** Go's `Duration.String()` for whole milliseconds: 86400000 → "24h0m0s", 500 → "500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
