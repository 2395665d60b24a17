/**
 * One subscription's MRR from its items and discount.
 *
 * `subscriptionMrr` is what the mirror stores in `subscriptions.mrr_amount`: the subscription's own
 * normalised amount, rounded, whatever its status. Whether a subscription counts toward a total
 * (ACTIVE and PAST_DUE only) is the query's business, and a total must be
 * `roundHalfUp(sumExact(subscriptionMrrExact(...) for each))`, never a sum of the rounded column:
 * two pro_yearly subscriptions are 416.67 + 416.67 = 833 cents, while 417 + 417 would be 834.
 */
import { multiplyExact, sumExact, roundHalfUp, fraction, type Fraction } from './fraction.js';
import { discountedExact, monthlyFactor, monthlyRecurringRevenue, type RecurringInterval } from './monthly.js';

export interface MrrItem {
  /** Minor units per unit; null for prices without one (tiered, custom). */
  unitAmount: number | null;
  /** Null counts as 1 (Stripe's default for licensed items). */
  quantity: number | null;
  interval: RecurringInterval | string | null;
  intervalCount: number | null;
  /** Metered items are usage, not recurring revenue: left out. */
  usageType?: string | null;
}

export interface SubscriptionMrrInput {
  currency: string;
  items: MrrItem[];
  /** The subscription's discount (its first coupon). An amount off in another currency does not apply. */
  discount?: { percentOff?: number | null; amountOff?: number | null; currency?: string | null } | null;
}

const INTERVALS = new Set(['day', 'week', 'month', 'year']);

/**
 * Exact monthly amount, or null when it cannot be computed (no licensed item with a per-unit amount
 * and interval). A subscription with only metered items is 0.
 */
export function subscriptionMrrExact(input: SubscriptionMrrInput): Fraction | null {
  const licensed = input.items.filter((i) => i.usageType !== 'metered');
  if (input.items.length === 0) return null;
  if (licensed.length === 0) return fraction(0n);
  const monthly: Fraction[] = [];
  for (const item of licensed) {
    if (item.unitAmount === null || !item.interval || !INTERVALS.has(item.interval)) return null;
    monthly.push(
      monthlyRecurringRevenue({
        unitAmount: item.unitAmount,
        quantity: item.quantity ?? 1,
        interval: item.interval as RecurringInterval,
        intervalCount: item.intervalCount ?? 1,
      }),
    );
  }
  const total = sumExact(monthly);
  const d = input.discount;
  if (!d) return total;
  if (d.percentOff !== null && d.percentOff !== undefined) return discountedExact(total, { percentOff: d.percentOff });
  if (d.amountOff !== null && d.amountOff !== undefined) {
    if (d.currency && d.currency.toLowerCase() !== input.currency.toLowerCase()) return total;
    // An amount off comes off each invoice; Stripe bills all items of a subscription on one interval.
    const first = licensed[0]!;
    const factor = monthlyFactor(first.interval as RecurringInterval, first.intervalCount ?? 1);
    if (!Number.isSafeInteger(d.amountOff) || d.amountOff < 0) throw new RangeError(`amountOff must be a non-negative integer, got ${d.amountOff}`);
    return subtractClamped(total, multiplyExact(fraction(BigInt(d.amountOff)), factor));
  }
  return total;
}

function subtractClamped(a: Fraction, b: Fraction): Fraction {
  const diff = fraction(a.numerator * b.denominator - b.numerator * a.denominator, a.denominator * b.denominator);
  return diff.numerator > 0n ? diff : fraction(0n);
}

/** The rounded amount stored in `subscriptions.mrr_amount` (null: not computable). */
export function subscriptionMrr(input: SubscriptionMrrInput): number | null {
  const exact = subscriptionMrrExact(input);
  return exact === null ? null : roundHalfUp(exact);
}
