/**
 * How a subscription's exact MRR is stored (`subscriptions.mrr_numerator / mrr_denominator`) so that
 * totals can be summed in SQL without losing a fraction of a cent.
 *
 * Almost every value is stored over one common denominator, MRR_DENOMINATOR = 12 × 10,000 × 27,720:
 * 12 for yearly ÷ 12, weekly × 52 ÷ 12 and daily × 365 ÷ 12; 10,000 for a percent off with two
 * decimals; 27,720 = lcm(1…12) for interval_count (so any count from 1 to 12, and 14, 15, 18, 20, 21,
 * 24, 28, 30, 35, 36 … – every divisor of 27,720). Amounts off are whole minor units per interval, so
 * they need nothing more. Values on that denominator sum to one exact numerator per currency and plan.
 *
 * A value it cannot represent (an interval_count such as 13 or 17) keeps its own reduced denominator
 * rather than being rounded: totals are kept per denominator (src/billing/metrics/mrr-totals.ts), so
 * such a subscription adds a row of its own there and the result stays exact.
 */
import { fraction, type Fraction } from './fraction.js';

export const MRR_DENOMINATOR = 12n * 10_000n * 27_720n;

export interface StoredMrr {
  /** Decimal strings (numeric columns): numerators outgrow bigint once summed. */
  mrrNumerator: string | null;
  mrrDenominator: string | null;
}

/** The columns for an exact MRR (null: not computable, which counts as 0). */
export function storedMrr(exact: Fraction | null): StoredMrr {
  if (exact === null) return { mrrNumerator: null, mrrDenominator: null };
  const f = fraction(exact.numerator, exact.denominator);
  if (MRR_DENOMINATOR % f.denominator === 0n) {
    return { mrrNumerator: String(f.numerator * (MRR_DENOMINATOR / f.denominator)), mrrDenominator: String(MRR_DENOMINATOR) };
  }
  return { mrrNumerator: String(f.numerator), mrrDenominator: String(f.denominator) };
}
