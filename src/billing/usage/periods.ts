/**
 * Billing periods of a metered subscription as Stripe (and the emulator, the emulator package's billing/periods.ts)
 * draws them: half-open [start, end), anchored at `billing_cycle_anchor`, months clamped to the month's
 * last day. The current period is the mirrored one; the previous one is derived from the anchor.
 */
import type { PlanInterval } from '../../catalog.js';

const DAY_MS = 86_400_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** `anchor` plus `n` intervals (n may be negative), keeping the anchor's day of month (clamped). */
export function addIntervals(anchor: Date, interval: PlanInterval, n: number): Date {
  if (interval === 'day') return new Date(anchor.getTime() + n * DAY_MS);
  if (interval === 'week') return new Date(anchor.getTime() + n * 7 * DAY_MS);
  const months = interval === 'month' ? n : 12 * n;
  const total = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  return new Date(Date.UTC(year, month, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()));
}

/**
 * Start of the period before the one starting at `periodStart`: the latest anchor step strictly before
 * it. Without an anchor, one interval back from the period start (with the same clamping).
 */
export function previousPeriodStart(periodStart: Date, interval: PlanInterval, count: number, anchor: Date | null): Date {
  const naive = addIntervals(periodStart, interval, -count);
  if (!anchor || anchor.getTime() > periodStart.getTime()) return naive;
  // Step from the anchor (as Stripe does) so a 31st anchor gives Jan 31 → Feb 28 → Mar 31, not Mar 28.
  // The longest interval length gives a k that is never too large; then step up.
  const longest = { day: 1, week: 7, month: 31, year: 366 }[interval] * count * DAY_MS;
  let k = Math.max(0, Math.floor((periodStart.getTime() - anchor.getTime()) / longest) - 1);
  while (addIntervals(anchor, interval, (k + 1) * count).getTime() < periodStart.getTime()) k++;
  const candidate = addIntervals(anchor, interval, k * count);
  return candidate.getTime() < periodStart.getTime() ? candidate : naive;
}
