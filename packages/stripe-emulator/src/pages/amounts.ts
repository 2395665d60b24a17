import type Stripe from 'stripe';
import { allocate, roundRatio } from '../billing/money.js';
import { priceAmount as billedAmount } from '../billing/usage.js';
import type { Emulator } from '../emulator.js';
import type { PriceRecord } from '../resources/prices.js';

/**
 * What a price costs up front for a quantity, in minor units, computed by the billing engine's
 * own money code so a checkout total matches the first invoice. Metered prices cost nothing up
 * front (usage is billed at renewal).
 */
export function priceAmount(emu: Emulator, price: Stripe.Price, quantity: number): number {
  if (price.recurring?.usage_type === 'metered') return 0;
  return billedAmount(emu, price as PriceRecord, quantity);
}

/**
 * A coupon's discount over line amounts, as the billing engine applies it to an invoice: percent
 * off the whole (exact, rounded once) or an amount off capped at the subtotal, spread over the
 * lines by largest remainder so the parts sum exactly.
 */
export function discountPerLine(
  amounts: number[],
  coupon: Pick<Stripe.Coupon, 'percent_off' | 'amount_off' | 'currency'> | null,
  currency: string,
): number[] {
  const base = amounts.reduce((s, a) => s + Math.max(0, a), 0);
  if (!coupon || base <= 0) return amounts.map(() => 0);
  let off = 0;
  if (coupon.percent_off !== null && coupon.percent_off !== undefined) {
    off = roundRatio(BigInt(base) * BigInt(Math.round(coupon.percent_off * 100)), 10_000n);
  } else if (coupon.amount_off && (!coupon.currency || coupon.currency === currency)) {
    off = Math.min(coupon.amount_off, base);
  }
  return allocate(off, amounts.map((a) => Math.max(0, a)));
}
