/**
 * How a plan change is applied (shared by `changePlan` and its preview, so the preview shows exactly
 * what the change will bill):
 *
 * - the licensed item moves to the new plan's price and quantity (quantity omitted: kept on a per-seat
 *   plan, 1 otherwise); metered items follow the plan's meters (same meter: new price on the same item,
 *   so usage so far stays on it; a meter the new plan lacks: item removed; a new meter: item added);
 * - `prorate: false` → `proration_behavior: none` (the new price applies from the next renewal on);
 * - an upgrade (the new plan costs more per year for the seats) → `always_invoice`: the prorated
 *   difference for the rest of the period is invoiced and charged now (`error_if_incomplete`: a declined
 *   card leaves the subscription unchanged, CARD_DECLINED);
 * - a downgrade or an equal price → `create_prorations`: the unused time is credited as proration items
 *   that the next renewal invoice nets out (no refund now);
 * - a change of interval (monthly ↔ yearly) is an upgrade or downgrade like any other; Stripe then
 *   restarts the billing cycle at the change and invoices at once, crediting the unused time (we ask
 *   for `always_invoice` in both directions so the preview shows that invoice).
 */
import type Stripe from 'stripe';
import { badUserInput, conflict } from '../../errors.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { isEnded } from './owned-subscription.js';
import { checkQuantity, requireSelfServePlan, resolvePlanPrices, yearlyAmount } from './plan-items.js';
import { findLiveSubscription } from './subscribe-rules.js';

export type ProrationBehavior = 'none' | 'create_prorations' | 'always_invoice';

export interface PlanChange {
  /** True when nothing would change (same price and quantity). */
  noop: boolean;
  items: Stripe.SubscriptionUpdateParams.Item[];
  behavior: ProrationBehavior;
  upgrade: boolean;
  planId: string;
  quantity: number;
  /** Unix seconds, when the caller fixed the proration instant. */
  prorationDate?: number;
}

const isMetered = (item: Stripe.SubscriptionItem) => item.price.recurring?.usage_type === 'metered';
/** The licensed (not metered) item: the one that carries the plan and the seat count. */
export const licensedSubscriptionItem = (sub: Stripe.Subscription): Stripe.SubscriptionItem | undefined => sub.items.data.find((it) => !isMetered(it));
/** The catalog meter of a metered price: the part after `__` in its lookup key (`plan__meter`). */
const meterOf = (price: Stripe.Price): string | null => price.lookup_key?.split('__')[1] ?? price.recurring?.meter ?? null;

export interface PlanChangeRequest {
  plan: string;
  quantity?: number | null;
  prorate?: boolean | null;
  prorationDate?: Date | null;
  /** Which input fields to name in errors. */
  fields?: { plan?: string; quantity?: string; subscriptionId?: string };
}

export async function planChange(deps: LifecycleDeps, sub: Stripe.Subscription, req: PlanChangeRequest): Promise<PlanChange> {
  const f = { plan: 'plan', quantity: 'quantity', subscriptionId: 'subscriptionId', ...req.fields };
  if (isEnded(sub)) throw badUserInput(f.subscriptionId, 'This subscription has ended; subscribe again');
  if (sub.status === 'incomplete') throw badUserInput(f.subscriptionId, 'This subscription awaits its first payment; pay or cancel it first');
  const plan = requireSelfServePlan(deps.catalog, req.plan, f.plan);
  const licensed = licensedSubscriptionItem(sub);
  if (!licensed) throw badUserInput(f.subscriptionId, 'This subscription has no licensed item to change');
  const currentQty = licensed.quantity ?? 1;
  const quantity = checkQuantity(plan, req.quantity ?? (plan.perSeat ? currentQty : 1), f.quantity);
  const stripe = requireStripe(deps);
  const prices = await resolvePlanPrices(deps.em, stripe, plan);

  const items: Stripe.SubscriptionUpdateParams.Item[] = [];
  const licensedChanged = licensed.price.id !== prices.licensed.id || currentQty !== quantity;
  if (licensedChanged) items.push({ id: licensed.id, price: prices.licensed.id, quantity });
  const seen = new Set<string>();
  for (const item of sub.items.data.filter(isMetered)) {
    const meter = meterOf(item.price);
    const target = meter ? prices.metered.get(meter) : undefined;
    if (meter && target) {
      seen.add(meter);
      if (item.price.id !== target) items.push({ id: item.id, price: target });
    } else {
      items.push({ id: item.id, deleted: true });
    }
  }
  for (const [meter, price] of prices.metered) if (!seen.has(meter)) items.push({ price });

  const oldYearly = yearlyAmount(licensed.price.unit_amount ?? 0, licensed.price.recurring?.interval ?? 'month', licensed.price.recurring?.interval_count ?? 1, currentQty);
  const newYearly = yearlyAmount(prices.licensed.unitAmount ?? 0, prices.licensed.interval, prices.licensed.intervalCount, quantity);
  const intervalChange =
    licensed.price.recurring?.interval !== prices.licensed.interval || (licensed.price.recurring?.interval_count ?? 1) !== prices.licensed.intervalCount;
  const upgrade = newYearly > oldYearly;
  const behavior: ProrationBehavior = req.prorate === false ? 'none' : upgrade || intervalChange ? 'always_invoice' : 'create_prorations';
  const prorationDate = prorationInstant(sub, req.prorationDate, 'prorationDate');
  return { noop: items.length === 0, items, behavior, upgrade, planId: plan.id, quantity, ...(prorationDate !== undefined ? { prorationDate } : {}) };
}

/** A caller-fixed proration instant must fall in the current period. */
function prorationInstant(sub: Stripe.Subscription, at: Date | null | undefined, field: string): number | undefined {
  if (at === null || at === undefined) return undefined;
  const t = Math.floor(at.getTime() / 1000);
  const item = sub.items.data[0];
  if (!Number.isFinite(t) || (item && (t < item.current_period_start || t > item.current_period_end))) {
    throw badUserInput(field, 'prorationDate must fall in the current billing period');
  }
  return t;
}

/** Another live subscription of the customer to the target product would make two → CONFLICT. */
export async function assertNoOtherLiveSubscription(deps: LifecycleDeps, sub: Stripe.Subscription, planId: string): Promise<void> {
  const plan = deps.catalog.plans.find((p) => p.id === planId)!;
  const customer = typeof sub.customer === 'string' ? sub.customer : sub.customer.id;
  const clash = await findLiveSubscription(deps, customer, plan.product, sub.id);
  if (clash) throw conflict(`This customer already has another live subscription to this product (${clash.id})`);
}
