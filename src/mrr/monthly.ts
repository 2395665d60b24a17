/**
 * Monthly recurring revenue of one recurring charge, exactly, per the MRR rules of docs/mrr.md:
 * yearly ÷ 12, weekly × 52 ÷ 12, daily × 365 ÷ 12, then ÷ interval_count; percent and amount
 * discounts applied to the amount of one billing interval (that is what a coupon takes off an invoice).
 */
import { fraction, multiplyExact, type Fraction } from './fraction.js';

export type RecurringInterval = 'day' | 'week' | 'month' | 'year';

export interface MrrDiscount {
  /** e.g. 12.5 for 12.5 %; Stripe allows two decimals. */
  percentOff?: number | null;
  /** Minor units off each invoice (same currency as the charge; the caller checks that). */
  amountOff?: number | null;
}

export interface MrrInput {
  /** Minor units per unit (per seat). */
  unitAmount: number;
  quantity: number;
  interval: RecurringInterval;
  intervalCount: number;
  discount?: MrrDiscount | null;
}

/** How many of an interval make a month, as a fraction. */
const PER_MONTH: Record<RecurringInterval, Fraction> = {
  day: fraction(365n, 12n),
  week: fraction(52n, 12n),
  month: fraction(1n),
  year: fraction(1n, 12n),
};

function nonNegativeInteger(value: number, name: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return BigInt(value);
}

/** Percent in hundredths of a percent (12.5 → 1250); rejects more than two decimals or a value outside 0–100. */
export function percentHundredths(percentOff: number): bigint {
  const hundredths = Math.round(percentOff * 100);
  if (!Number.isFinite(percentOff) || percentOff < 0 || percentOff > 100 || Math.abs(percentOff * 100 - hundredths) > 1e-6) {
    throw new RangeError(`percentOff must be between 0 and 100 with at most two decimals, got ${percentOff}`);
  }
  return BigInt(hundredths);
}

/**
 * The amount of one interval after a discount: percent off exactly (no rounding), amount off clamped at
 * zero. A coupon has one or the other; percent wins if both are given.
 */
export function discountedExact(amount: Fraction, discount: MrrDiscount | null | undefined): Fraction {
  if (!discount) return amount;
  if (discount.percentOff !== null && discount.percentOff !== undefined) {
    return multiplyExact(amount, fraction(10_000n - percentHundredths(discount.percentOff), 10_000n));
  }
  if (discount.amountOff !== null && discount.amountOff !== undefined) {
    const off = nonNegativeInteger(discount.amountOff, 'amountOff');
    const left = fraction(amount.numerator - off * amount.denominator, amount.denominator);
    return left.numerator > 0n ? left : fraction(0n);
  }
  return amount;
}

/** Factor turning one interval's amount into a monthly amount. */
export function monthlyFactor(interval: RecurringInterval, intervalCount: number): Fraction {
  const perMonth = PER_MONTH[interval];
  if (!perMonth) throw new RangeError(`interval must be day, week, month or year, got ${String(interval)}`);
  if (!Number.isSafeInteger(intervalCount) || intervalCount < 1) throw new RangeError(`intervalCount must be a positive integer, got ${intervalCount}`);
  return multiplyExact(perMonth, fraction(1n, BigInt(intervalCount)));
}

/** Exact MRR in minor units (a fraction: round only the final per-currency total, with `roundHalfUp`). */
export function monthlyRecurringRevenue(input: MrrInput): Fraction {
  const perInterval = fraction(nonNegativeInteger(input.unitAmount, 'unitAmount') * nonNegativeInteger(input.quantity, 'quantity'));
  return multiplyExact(discountedExact(perInterval, input.discount), monthlyFactor(input.interval, input.intervalCount));
}
