/** Order statistics and the `name: <median> (p95 <p95>)` lines the benchmarks end with. */

/** The q-quantile (0..1) by the nearest-rank method: always one of the samples. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil(q * s.length)));
  return s[rank - 1]!;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  median: number;
  p95: number;
  n: number;
}

export function summarize(xs: readonly number[]): Summary {
  return { median: median(xs), p95: quantile(xs, 0.95), n: xs.length };
}

/** Rounds for display: whole numbers from 100 up, two significant decimals below. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** `name: <median> (p95 <p95>)`, the parseable result line. */
export function resultLine(name: string, s: Summary): string {
  return `${name}: ${fmt(s.median)} (p95 ${fmt(s.p95)})`;
}
