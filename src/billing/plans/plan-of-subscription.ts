/**
 * The plan a mirrored subscription is on: the catalog plan of its licensed price's lookup_key, or,
 * for a price outside the catalog (e.g. made in the Stripe dashboard), a plan read from the price
 * itself in the subscription's stored items.
 */
import type Stripe from 'stripe';
import type { Subscription } from '../../db/entities/subscription.js';
import type { PlanInterval } from '../../catalog.js';
import type { PlanService, PlanView } from './plan-service.js';

export async function planOfSubscription(plans: PlanService, row: Subscription, options: { mirroredPrice?: boolean } = {}): Promise<PlanView> {
  const view = row.planId ? await plans.get(row.planId, options) : null;
  return view ?? planFromPrice(row);
}

/** A plan for a subscription whose price is not in the catalog. */
function planFromPrice(row: Subscription): PlanView {
  const items = (row.raw?.items?.data ?? []) as Stripe.SubscriptionItem[];
  const prices = items.map((i) => i.price as Stripe.Price | string).filter((p): p is Stripe.Price => typeof p !== 'string');
  const price = prices.find((p) => p.recurring?.usage_type !== 'metered') ?? prices[0];
  const id = row.planId ?? price?.lookup_key ?? row.priceId ?? price?.id ?? 'unknown';
  const amount = typeof price?.unit_amount === 'number' ? { amount: price.unit_amount, currency: price.currency } : null;
  return {
    id,
    name: price?.nickname ?? id,
    price: amount,
    currency: amount?.currency ?? row.currency,
    interval: (price?.recurring?.interval ?? 'month') as PlanInterval,
    intervalCount: price?.recurring?.interval_count ?? 1,
    perSeat: false,
    selfServe: false,
    features: [],
    meters: [],
    // Not a catalog plan: its API keys have no limits and are not metered.
    apiLimits: { rateLimitPerMinute: null, quota: null, meter: null },
  };
}
