/**
 * Stripe subscription objects built by hand (prices and coupons expanded, as the mirror reads them),
 * for MRR tests that need thousands of changes: the emulator would make them slow, and the mirror's
 * mapping from the emulator's objects is tested in subscriptions.test.ts.
 */
import type Stripe from 'stripe';

export interface PriceSpec {
  id: string;
  lookupKey: string | null;
  currency: string;
  unitAmount: number | null;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount?: number;
  usageType?: 'licensed' | 'metered';
}

export interface CouponSpec {
  id: string;
  percentOff?: number;
  amountOff?: number;
  currency?: string;
}

export interface SubSpec {
  id: string;
  customer?: string;
  status: Stripe.Subscription.Status;
  items: { price: PriceSpec; quantity?: number }[];
  coupon?: CouponSpec | null;
  created?: number;
  trialEnd?: number | null;
  endedAt?: number | null;
}

export function price(p: PriceSpec): Stripe.Price {
  return {
    id: p.id,
    object: 'price',
    active: true,
    currency: p.currency,
    lookup_key: p.lookupKey,
    metadata: {},
    unit_amount: p.unitAmount,
    billing_scheme: 'per_unit',
    type: 'recurring',
    recurring: { interval: p.interval, interval_count: p.intervalCount ?? 1, usage_type: p.usageType ?? 'licensed', meter: null },
  } as unknown as Stripe.Price;
}

/**
 * A minute ago, but never before the current UTC month began: a subscription created then is "new this
 * month" even when the test runs in a month's first minute.
 */
export function createdRecently(): number {
  const now = new Date();
  return Math.max(Math.floor(now.getTime() / 1000) - 60, Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000);
}

export function subscription(s: SubSpec): Stripe.Subscription {
  const created = s.created ?? createdRecently();
  const coupon = s.coupon
    ? ({ id: s.coupon.id, object: 'coupon', percent_off: s.coupon.percentOff ?? null, amount_off: s.coupon.amountOff ?? null, currency: s.coupon.currency ?? null, duration: 'forever', duration_in_months: null } as unknown as Stripe.Coupon)
    : null;
  return {
    id: s.id,
    object: 'subscription',
    customer: s.customer ?? `cus_${s.id}`,
    status: s.status,
    currency: s.items[0]?.price.currency ?? 'usd',
    created,
    start_date: created,
    cancel_at_period_end: false,
    cancel_at: null,
    canceled_at: s.endedAt ?? null,
    ended_at: s.endedAt ?? null,
    trial_start: s.trialEnd ? created : null,
    trial_end: s.trialEnd ?? null,
    latest_invoice: null,
    test_clock: null,
    metadata: {},
    discounts: coupon ? [{ id: `di_${s.id}`, object: 'discount', source: { type: 'coupon', coupon }, end: null }] : [],
    items: {
      object: 'list',
      has_more: false,
      data: s.items.map((item, i) => ({
        id: `si_${s.id}_${i}`,
        object: 'subscription_item',
        price: price(item.price),
        quantity: item.price.usageType === 'metered' ? undefined : (item.quantity ?? 1),
        current_period_start: created,
        current_period_end: created + 30 * 86_400,
        created,
      })),
    },
  } as unknown as Stripe.Subscription;
}
