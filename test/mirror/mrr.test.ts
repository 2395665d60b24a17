import { describe, expect, it } from 'vitest';
import {
  fraction,
  monthlyRecurringRevenue,
  roundHalfUp,
  subscriptionMrr,
  subscriptionMrrExact,
  sumExact,
  type Fraction,
} from '../../src/mrr/index.js';

const f = (n: number, d = 1): Fraction => fraction(BigInt(n), BigInt(d));
const proYearly = { unitAmount: 5000, quantity: 1, interval: 'year' as const, intervalCount: 1 };

describe('monthlyRecurringRevenue (exact)', () => {
  it('normalises each interval to a month', () => {
    expect(monthlyRecurringRevenue({ unitAmount: 100, quantity: 3, interval: 'month', intervalCount: 1 })).toEqual(f(300));
    expect(monthlyRecurringRevenue(proYearly)).toEqual(f(1250, 3)); // 5000 / 12
    expect(monthlyRecurringRevenue({ unitAmount: 1000, quantity: 1, interval: 'week', intervalCount: 1 })).toEqual(f(13000, 3)); // × 52 ÷ 12
    expect(monthlyRecurringRevenue({ unitAmount: 100, quantity: 1, interval: 'day', intervalCount: 1 })).toEqual(f(9125, 3)); // × 365 ÷ 12
    expect(monthlyRecurringRevenue({ unitAmount: 600, quantity: 1, interval: 'month', intervalCount: 3 })).toEqual(f(200));
    expect(monthlyRecurringRevenue({ unitAmount: 1000, quantity: 1, interval: 'week', intervalCount: 2 })).toEqual(f(6500, 3));
  });

  it('applies a fractional percent off exactly, and an amount off per interval (never below zero)', () => {
    // 12.5 % off 3 × $1.00 = 262.5 cents, kept exact.
    expect(monthlyRecurringRevenue({ unitAmount: 100, quantity: 3, interval: 'month', intervalCount: 1, discount: { percentOff: 12.5 } })).toEqual(f(525, 2));
    expect(monthlyRecurringRevenue({ unitAmount: 100, quantity: 1, interval: 'month', intervalCount: 1, discount: { percentOff: 33.33 } })).toEqual(
      f(6667, 100),
    );
    // $10 off a $50 year: 4000 / 12.
    expect(monthlyRecurringRevenue({ ...proYearly, discount: { amountOff: 1000 } })).toEqual(f(1000, 3));
    expect(monthlyRecurringRevenue({ unitAmount: 100, quantity: 1, interval: 'month', intervalCount: 1, discount: { amountOff: 500 } })).toEqual(f(0));
    expect(monthlyRecurringRevenue({ ...proYearly, discount: { percentOff: null, amountOff: null } })).toEqual(f(1250, 3));
  });

  it('rejects bad input with a clear error', () => {
    expect(() => monthlyRecurringRevenue({ ...proYearly, unitAmount: 1.5 })).toThrow(/unitAmount/);
    expect(() => monthlyRecurringRevenue({ ...proYearly, quantity: -1 })).toThrow(/quantity/);
    expect(() => monthlyRecurringRevenue({ ...proYearly, intervalCount: 0 })).toThrow(/intervalCount/);
    expect(() => monthlyRecurringRevenue({ ...proYearly, interval: 'fortnight' as never })).toThrow(/interval/);
    expect(() => monthlyRecurringRevenue({ ...proYearly, discount: { percentOff: 12.345 } })).toThrow(/two decimals/);
    expect(() => monthlyRecurringRevenue({ ...proYearly, discount: { percentOff: 101 } })).toThrow(/percentOff/);
  });
});

describe('sumExact and roundHalfUp: one rounding, at the end', () => {
  it('two pro_yearly subscriptions are 833 cents, not 834', () => {
    const each = monthlyRecurringRevenue(proYearly);
    expect(roundHalfUp(each)).toBe(417);
    expect(roundHalfUp(sumExact([each, each]))).toBe(833);
    expect(roundHalfUp(each) * 2).toBe(834); // what rounding each one would give
  });

  it('rounds halves up (away from zero), everything else to nearest', () => {
    expect(roundHalfUp(f(5, 2))).toBe(3);
    expect(roundHalfUp(f(7, 3))).toBe(2);
    expect(roundHalfUp(f(8, 3))).toBe(3);
    expect(roundHalfUp(f(-5, 2))).toBe(-3);
    expect(roundHalfUp(f(0))).toBe(0);
    expect(roundHalfUp(sumExact([]))).toBe(0);
    // 12.5 % off $1.00 ×3 = 262.5 → 263
    expect(roundHalfUp(monthlyRecurringRevenue({ unitAmount: 100, quantity: 3, interval: 'month', intervalCount: 1, discount: { percentOff: 12.5 } }))).toBe(263);
  });

  it('weekly and daily totals keep thirds exact across many subscriptions', () => {
    const weekly = monthlyRecurringRevenue({ unitAmount: 999, quantity: 1, interval: 'week', intervalCount: 1 }); // 4329
    const daily = monthlyRecurringRevenue({ unitAmount: 1, quantity: 1, interval: 'day', intervalCount: 1 }); // 30.41666…
    const total = sumExact([...Array(7).fill(weekly), ...Array(12).fill(daily)]);
    expect(total).toEqual(f(7 * 4329 + 365));
    expect(roundHalfUp(total)).toBe(30668);
    // Rounding each first would drift: 7 × 4329 + 12 × 30 = 30663.
    expect(7 * roundHalfUp(weekly) + 12 * roundHalfUp(daily)).toBe(30663);
  });
});

describe('subscriptionMrr (the stored mrr_amount)', () => {
  const licensed = { unitAmount: 100, quantity: 3, interval: 'month', intervalCount: 1, usageType: 'licensed' };
  const metered = { unitAmount: null, quantity: null, interval: 'month', intervalCount: 1, usageType: 'metered' };

  it('leaves metered usage out and applies the coupon', () => {
    expect(subscriptionMrr({ currency: 'usd', items: [licensed, metered] })).toBe(300);
    expect(subscriptionMrr({ currency: 'usd', items: [licensed, metered], discount: { percentOff: 12.5 } })).toBe(263);
    expect(subscriptionMrr({ currency: 'usd', items: [licensed], discount: { amountOff: 50, currency: 'usd' } })).toBe(250);
    // A coupon in another currency does not apply.
    expect(subscriptionMrr({ currency: 'usd', items: [licensed], discount: { amountOff: 50, currency: 'eur' } })).toBe(300);
    expect(subscriptionMrr({ currency: 'usd', items: [{ ...licensed, unitAmount: 5000, quantity: 1, interval: 'year' }], discount: { amountOff: 1000 } })).toBe(333);
  });

  it('is 0 with only metered items, null when not computable', () => {
    expect(subscriptionMrr({ currency: 'usd', items: [metered] })).toBe(0);
    expect(subscriptionMrr({ currency: 'usd', items: [] })).toBeNull();
    expect(subscriptionMrr({ currency: 'usd', items: [{ ...licensed, unitAmount: null }] })).toBeNull();
    expect(subscriptionMrrExact({ currency: 'usd', items: [{ ...licensed, quantity: null }] })).toEqual(f(100));
  });
});
