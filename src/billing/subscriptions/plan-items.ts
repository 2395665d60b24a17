/**
 * A catalog plan as Stripe items: the licensed price (lookup_key = plan id) with the quantity, plus one
 * metered price per meter of the plan (lookup_key `meteredLookupKey(plan, meter)`, no quantity). Prices
 * are read from the mirror (the catalog sync writes it); a plan not mirrored yet is looked up at Stripe.
 */
import type Stripe from 'stripe';
import { meteredLookupKey, type Catalog, type CatalogPlan } from '../../catalog.js';
import { Price } from '../../db/entities/catalog.js';
import type { Em } from '../../db/orm.js';
import { badUserInput, internalError } from '../../errors.js';
import { logger } from '../../log.js';
import { callStripe } from '../stripe-errors.js';

/** The largest seat count accepted (Stripe's own limit is far higher; this catches typos). */
export const MAX_QUANTITY = 100_000;

export interface PlanPrices {
  plan: CatalogPlan;
  licensed: { id: string; unitAmount: number | null; interval: string; intervalCount: number };
  /** meter id → price id */
  metered: Map<string, string>;
}

/** A self-serve catalog plan, or BAD_USER_INPUT naming `field`. */
export function requireSelfServePlan(catalog: Catalog, planId: string, field = 'plan'): CatalogPlan {
  const plan = catalog.plans.find((p) => p.id === planId);
  if (!plan) throw badUserInput(field, `Unknown plan "${planId}"; see the plans query`);
  if (!plan.selfServe || !plan.price) throw badUserInput(field, `Plan "${planId}" is not self-serve; contact sales`);
  return plan;
}

/** The seat count: ≥ 1, and exactly 1 on a plan that is not per seat. */
export function checkQuantity(plan: CatalogPlan, quantity: number | null | undefined, field = 'quantity'): number {
  const q = quantity ?? 1;
  if (!Number.isInteger(q) || q < 1) throw badUserInput(field, 'quantity must be at least 1');
  if (q > MAX_QUANTITY) throw badUserInput(field, `quantity must be at most ${MAX_QUANTITY}`);
  if (q > 1 && !plan.perSeat) throw badUserInput(field, `Plan "${plan.id}" is not per seat: quantity must be 1`);
  return q;
}

export async function resolvePlanPrices(em: Em, stripe: Stripe, plan: CatalogPlan): Promise<PlanPrices> {
  const meteredKeys = new Map(plan.meters.map((m) => [meteredLookupKey(plan.id, m.meter), m.meter]));
  const keys = [plan.id, ...meteredKeys.keys()];
  const rows = await em.find(Price, { lookupKey: { $in: keys }, active: true }, { orderBy: { createdAt: 'desc', id: 'desc' } });
  let found = new Map<string, { id: string; unitAmount: number | null; interval: string | null; intervalCount: number | null }>();
  for (const r of rows) {
    if (r.lookupKey && !found.has(r.lookupKey)) {
      found.set(r.lookupKey, { id: r.id, unitAmount: r.unitAmount ?? null, interval: r.recurringInterval ?? null, intervalCount: r.recurringIntervalCount ?? null });
    }
  }
  if (keys.some((k) => !found.has(k))) {
    // Not mirrored (yet): ask Stripe, which is the source of truth for lookup keys.
    const list = await callStripe(() => stripe.prices.list({ lookup_keys: keys, active: true, limit: 100 }), { operation: 'prices.list' });
    found = new Map(
      list.data.map((p) => [p.lookup_key!, { id: p.id, unitAmount: p.unit_amount ?? null, interval: p.recurring?.interval ?? null, intervalCount: p.recurring?.interval_count ?? null }]),
    );
  }
  const licensed = found.get(plan.id);
  if (!licensed || keys.some((k) => !found.has(k))) {
    logger.error({ plan: plan.id, missing: keys.filter((k) => !found.has(k)) }, 'catalog prices missing at Stripe; run `billing-gateway setup`');
    throw internalError();
  }
  const metered = new Map<string, string>();
  for (const [key, meter] of meteredKeys) metered.set(meter, found.get(key)!.id);
  return {
    plan,
    licensed: { id: licensed.id, unitAmount: licensed.unitAmount, interval: licensed.interval ?? plan.interval, intervalCount: licensed.intervalCount ?? plan.intervalCount },
    metered,
  };
}

/** Items for `subscriptions.create` / Checkout line items. */
export function newSubscriptionItems(prices: PlanPrices, quantity: number): { price: string; quantity?: number }[] {
  return [{ price: prices.licensed.id, quantity }, ...[...prices.metered.values()].map((price) => ({ price }))];
}

const PER_YEAR: Record<string, number> = { day: 365, week: 52, month: 12, year: 1 };

/** A plan's licensed amount per year for `quantity` seats: compares plans across intervals (upgrade or downgrade?). */
export function yearlyAmount(unitAmount: number, interval: string, intervalCount: number, quantity: number): number {
  return (unitAmount * quantity * (PER_YEAR[interval] ?? 12)) / Math.max(1, intervalCount);
}
