/**
 * MRR of mirrored subscriptions, exactly (the MRR rules of docs/mrr.md): each subscription's monthly amount is
 * a fraction (src/mrr); a customer's MRR sums its ACTIVE and PAST_DUE subscriptions exactly
 * and rounds half-up once. Amounts come from the subscription's own Stripe object (`raw`: items with
 * their prices) and the mirrored discount, like the mirror's `mrr_amount` column.
 */
import type Stripe from 'stripe';
import { MRR_COUNTING_STATUSES } from '../../../db/entities/mrr-total.js';
import type { Subscription } from '../../../db/entities/subscription.js';
import { roundHalfUp, subscriptionMrrExact, sumExact, type Fraction, type MrrItem } from '../../../mrr/index.js';

/** Statuses that count toward MRR (one definition, shared with the totals' trigger). */
export const MRR_STATUSES: readonly string[] = MRR_COUNTING_STATUSES;

/** What an item's price contributes, for prices that arrived as bare ids (from the `prices` mirror). */
export interface MrrPriceFacts {
  unitAmount: number | null;
  interval: string | null;
  intervalCount: number | null;
  usageType: string | null;
}

/** Price ids of `row`'s items whose price is not an object in `raw` (rare: Stripe expands item prices). */
export function unexpandedItemPriceIds(row: Subscription): string[] {
  const items = (row.raw?.items?.data ?? []) as Stripe.SubscriptionItem[];
  return items.map((i) => i.price as Stripe.Price | string).filter((p): p is string => typeof p === 'string');
}

function mrrItems(row: Subscription, prices: ReadonlyMap<string, MrrPriceFacts>): MrrItem[] {
  const items = (row.raw?.items?.data ?? []) as Stripe.SubscriptionItem[];
  return items.map((item) => {
    const ref = item.price as Stripe.Price | string;
    const facts: MrrPriceFacts | undefined =
      typeof ref === 'string'
        ? prices.get(ref)
        : {
            unitAmount: ref.unit_amount ?? null,
            interval: ref.recurring?.interval ?? null,
            intervalCount: ref.recurring?.interval_count ?? null,
            usageType: ref.recurring?.usage_type ?? null,
          };
    return {
      unitAmount: facts?.unitAmount ?? null,
      quantity: item.quantity ?? null,
      interval: facts?.interval ?? null,
      intervalCount: facts?.intervalCount ?? null,
      usageType: facts?.usageType ?? null,
    };
  });
}

/**
 * The subscription's own monthly amount, exactly, whatever its status. Falls back to the mirror's
 * rounded `mrr_amount` (or 0) when the items cannot be priced (e.g. a custom price without an amount).
 */
export function subscriptionExactMrr(row: Subscription, prices: ReadonlyMap<string, MrrPriceFacts> = new Map()): Fraction {
  const exact = subscriptionMrrExact({ currency: row.currency, items: mrrItems(row, prices), discount: row.discount ?? null });
  return exact ?? { numerator: BigInt(row.mrrAmount ?? 0), denominator: 1n };
}

/**
 * A customer's MRR: its ACTIVE and PAST_DUE subscriptions summed exactly, rounded once. Stripe bills a
 * customer in one currency; should rows disagree, the newest counting subscription's currency wins and
 * the others are left out rather than added across currencies.
 */
export function customerMrr(
  rows: readonly Subscription[],
  fallbackCurrency: string,
  prices: ReadonlyMap<string, MrrPriceFacts> = new Map(),
): { amount: number; currency: string } {
  const counting = rows.filter((r) => MRR_STATUSES.includes(r.status));
  const currency = (counting[0]?.currency ?? fallbackCurrency).toLowerCase();
  const amount = roundHalfUp(sumExact(counting.filter((r) => r.currency.toLowerCase() === currency).map((r) => subscriptionExactMrr(r, prices))));
  return { amount, currency };
}
