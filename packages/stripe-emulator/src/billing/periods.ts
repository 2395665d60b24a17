/** Billing-period arithmetic on unix seconds, in UTC, anchored as Stripe anchors billing cycles. */

export type Interval = 'day' | 'week' | 'month' | 'year';

const DAY = 86_400;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * `anchor` plus `n` intervals. Months and years keep the anchor's day of month, clamped to the
 * month's last day (an anchor on the 31st bills on Feb 28/29, then on the 31st again), because the
 * date is computed from the anchor each time rather than from the previous period end.
 */
export function addIntervals(anchor: number, interval: Interval, n: number): number {
  if (interval === 'day') return anchor + n * DAY;
  if (interval === 'week') return anchor + n * 7 * DAY;
  const d = new Date(anchor * 1000);
  const months = interval === 'month' ? n : 12 * n;
  const total = d.getUTCMonth() + months;
  const year = d.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  return Math.floor(Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000);
}

/** The first period boundary after `after` on the cycle anchored at `anchor` (every `count` intervals). */
export function nextBoundary(anchor: number, interval: Interval, count: number, after: number): number {
  if (anchor > after) return anchor;
  // Jump close first so long-lived clocks stay cheap, then step.
  const approx = { day: DAY, week: 7 * DAY, month: 28 * DAY, year: 365 * DAY }[interval] * count;
  let k = Math.max(1, Math.floor((after - anchor) / approx) - 2);
  while (addIntervals(anchor, interval, k * count) <= after) k++;
  while (k > 1 && addIntervals(anchor, interval, (k - 1) * count) > after) k--;
  return addIntervals(anchor, interval, k * count);
}

export const HOUR = 3600;
export const DAY_SECONDS = DAY;
