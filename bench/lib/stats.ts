/** Percentiles and small number formatting shared by the bench parts. */

/** The p-th percentile (nearest rank) of an ascending array; NaN when empty. */
export function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return pct([...values].sort((a, b) => a - b), 50);
}

/** `1234.5` → `1,234.5` (one decimal below 100, none above). */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) < 100 ? 1 : 0 });
}

/** One decimal, for the rows of a part. */
export const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Milliseconds of `requests` calls of `call` one after the other, ascending, after `warmup` calls whose
 * time is not kept: the latency of one client that waits for each answer.
 */
export async function timeSequential(call: () => Promise<unknown>, opts: { requests: number; warmup?: number }): Promise<number[]> {
  for (let i = 0; i < (opts.warmup ?? 20); i++) await call();
  const times: number[] = [];
  for (let i = 0; i < opts.requests; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}
