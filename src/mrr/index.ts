/** Exact MRR arithmetic (the MRR rules of docs/mrr.md). Pure: no I/O. */
export { ZERO, addExact, fraction, multiplyExact, roundHalfUp, sumExact, type Fraction } from './fraction.js';
export {
  discountedExact,
  monthlyFactor,
  monthlyRecurringRevenue,
  percentHundredths,
  type MrrDiscount,
  type MrrInput,
  type RecurringInterval,
} from './monthly.js';
export { subscriptionMrr, subscriptionMrrExact, type MrrItem, type SubscriptionMrrInput } from './subscription.js';
export { MRR_DENOMINATOR, storedMrr, type StoredMrr } from './stored.js';
