import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Params } from '../http/params.js';
import { newId } from '../ids.js';
import { allocate, roundRatio } from './money.js';
import { assertRedeemable, findPromotionCode, recordRedemption, requireCoupon, type PromotionCodeRecord } from '../resources/coupons.js';
import { addIntervals } from './periods.js';
import { idOf, type CouponRecord, type DiscountRecord, type LineRecord } from './records.js';

export interface DiscountRequest {
  coupon?: string;
  promotion_code?: string;
  discount?: string;
}

/** Reads `discounts[][coupon|promotion_code|discount]` (or `discounts=''` to clear: returns []). */
export function readDiscounts(p: Params, key = 'discounts'): DiscountRequest[] | undefined {
  if (p.isEmpty(key)) {
    p.string(key);
    return [];
  }
  const list = p.objects(key);
  if (!list) return undefined;
  return list.map((d) => {
    const coupon = d.string('coupon');
    const promotionCode = d.string('promotion_code');
    const discount = d.string('discount');
    return { ...(coupon ? { coupon } : {}), ...(promotionCode ? { promotion_code: promotionCode } : {}), ...(discount ? { discount } : {}) };
  });
}

/** Checks the coupons / promotion codes exist and are usable, before any state changes. */
export function validateDiscounts(emu: Emulator, reqs: DiscountRequest[], now: number): void {
  reqs.forEach((r, i) => {
    if (r.discount) {
      if (!emu.store.get('discount', r.discount)) throw resourceMissing('discount', r.discount, `discounts[${i}][discount]`);
      return;
    }
    couponFor(emu, r, i, now);
  });
}

function couponFor(emu: Emulator, r: DiscountRequest, i: number, now: number): { coupon: CouponRecord; promo: PromotionCodeRecord | undefined } {
  if (r.promotion_code) {
    const param = `discounts[${i}][promotion_code]`;
    const promo = findPromotionCode(emu, r.promotion_code);
    if (!promo) throw resourceMissing('promotion_code', r.promotion_code, param);
    const couponId = idOf(promo.promotion?.coupon);
    if (!couponId) throw invalidRequest('The promotion code has no coupon.', param);
    const coupon = requireCoupon(emu, couponId, param);
    assertRedeemable(emu, coupon, promo, param, now);
    return { coupon, promo };
  }
  if (!r.coupon) throw invalidRequest('Each discount needs a coupon, promotion_code or discount.', `discounts[${i}]`);
  const param = `discounts[${i}][coupon]`;
  const coupon = requireCoupon(emu, r.coupon, param);
  assertRedeemable(emu, coupon, undefined, param, now);
  return { coupon, promo: undefined };
}

/** Creates the Discount objects a subscription carries (redeeming the coupons / promotion codes). */
export function createDiscounts(
  emu: Emulator,
  reqs: DiscountRequest[],
  ctx: { customer: string; subscription: string; now: number },
): string[] {
  return reqs.map((r, i) => {
    if (r.discount) return r.discount;
    const { coupon, promo } = couponFor(emu, r, i, ctx.now);
    const end =
      coupon.duration === 'repeating' && coupon.duration_in_months
        ? addIntervals(ctx.now, 'month', coupon.duration_in_months)
        : null;
    const discount = {
      id: newId('di', 24),
      object: 'discount',
      checkout_session: null,
      customer: ctx.customer,
      customer_account: null,
      end,
      invoice: null,
      invoice_item: null,
      promotion_code: promo?.id ?? null,
      source: { coupon: coupon.id, type: 'coupon' },
      start: ctx.now,
      subscription: ctx.subscription,
      subscription_item: null,
    } as unknown as DiscountRecord;
    emu.store.insert('discount', discount);
    recordRedemption(emu, coupon, promo);
    return discount.id;
  });
}

/**
 * What `amount` becomes after the requested discounts, computed as `applyDiscounts` would on a
 * single line (used to decide a new subscription's status before anything is stored).
 */
export function discountedAmount(emu: Emulator, amount: number, reqs: DiscountRequest[], currency: string, now: number): number {
  let left = amount;
  reqs.forEach((r, i) => {
    const coupon = r.discount ? discountCoupon(emu, r.discount) : couponFor(emu, r, i, now).coupon;
    if (!coupon || left <= 0) return;
    if (coupon.percent_off !== null && coupon.percent_off !== undefined) {
      left -= roundRatio(BigInt(left) * BigInt(Math.round(coupon.percent_off * 100)), 10_000n);
    } else if (coupon.amount_off !== null && coupon.amount_off !== undefined && (!coupon.currency || coupon.currency === currency)) {
      left -= Math.min(coupon.amount_off, left);
    }
  });
  return left;
}

export function discountCoupon(emu: Emulator, discountId: string): CouponRecord | undefined {
  const d = emu.store.get<DiscountRecord>('discount', discountId);
  const couponId = d ? (typeof d.source?.coupon === 'string' ? d.source.coupon : d.source?.coupon?.id) : undefined;
  return couponId ? emu.store.get<CouponRecord>('coupon', couponId) : undefined;
}

/** Discounts still in force at `at` (a repeating coupon ends after its months). */
export function activeDiscounts(emu: Emulator, ids: string[], at: number): string[] {
  return ids.filter((id) => {
    const d = emu.store.get<DiscountRecord>('discount', id);
    return d && (d.end === null || d.end > at);
  });
}

/**
 * Applies discounts to an invoice's discountable lines, one after another on what is left:
 * percent_off takes round(remaining × pct / 100) of the discountable total; amount_off takes up to
 * its amount. Each invoice-level amount is spread over the lines in proportion to their amounts
 * (largest remainder, so line amounts sum exactly). Negative (credit) lines are not discounted.
 * Returns the invoice's `total_discount_amounts`.
 */
export function applyDiscounts(
  emu: Emulator,
  lines: LineRecord[],
  discountIds: string[],
  currency: string,
): Stripe.Invoice.TotalDiscountAmount[] {
  const totals: Stripe.Invoice.TotalDiscountAmount[] = [];
  for (const l of lines) l.discount_amounts = [];
  const remaining = lines.map((l) => (l.discountable && l.amount > 0 ? l.amount : 0));
  for (const id of discountIds) {
    const coupon = discountCoupon(emu, id);
    if (!coupon) continue;
    const base = remaining.reduce((a, b) => a + b, 0);
    if (base <= 0) {
      totals.push({ amount: 0, discount: id });
      for (const l of lines) l.discount_amounts!.push({ amount: 0, discount: id });
      continue;
    }
    let amount = 0;
    if (coupon.percent_off !== null && coupon.percent_off !== undefined) {
      // percent_off may be fractional (e.g. 12.5): exact via hundredths of a percent.
      const hundredths = BigInt(Math.round(coupon.percent_off * 100));
      amount = roundRatio(BigInt(base) * hundredths, 10_000n);
    } else if (coupon.amount_off !== null && coupon.amount_off !== undefined) {
      if (coupon.currency && coupon.currency !== currency) continue;
      amount = Math.min(coupon.amount_off, base);
    }
    const parts = allocate(amount, remaining);
    lines.forEach((l, i) => {
      l.discount_amounts!.push({ amount: parts[i]!, discount: id });
      remaining[i] = remaining[i]! - parts[i]!;
    });
    totals.push({ amount, discount: id });
  }
  return totals;
}
