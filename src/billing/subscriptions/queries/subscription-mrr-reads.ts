/**
 * MRR of mirrored subscriptions as the API shows it: one subscription's own monthly amount
 * (whatever its status), and a customer's MRR (its counting subscriptions, rounded once). Prices its
 * stored items hold only as ids are read through the request's price loader.
 */
import type { Subscription } from '../../../db/entities/subscription.js';
import { roundHalfUp } from '../../../mrr/index.js';
import { customerMrr, subscriptionExactMrr, unexpandedItemPriceIds, type MrrPriceFacts } from './subscription-mrr.js';
import type { SubscriptionQueries } from './subscription-queries.js';

export interface MrrAmount {
  /** Minor units. */
  amount: number;
  currency: string;
}

export interface MrrPriceLoader {
  mrrPriceById: { loadMany(ids: readonly string[]): Promise<(MrrPriceFacts | null | Error)[]> };
}

export class SubscriptionMrrReads {
  constructor(
    private readonly subscriptions: Pick<SubscriptionQueries, 'forCustomer'>,
    private readonly loaders: MrrPriceLoader,
    /** A customer without counting subscriptions shows 0 in this currency (the catalog's first). */
    private readonly fallbackCurrency: string,
  ) {}

  /** The subscription's normalised monthly amount, rounded half-up. */
  async ofSubscription(row: Subscription): Promise<MrrAmount> {
    return { amount: roundHalfUp(subscriptionExactMrr(row, await this.prices([row]))), currency: row.currency };
  }

  /** The customer's ACTIVE and PAST_DUE subscriptions, summed exactly and rounded once. */
  async ofCustomer(customerId: string): Promise<MrrAmount> {
    const rows = await this.subscriptions.forCustomer(customerId);
    return customerMrr(rows, this.fallbackCurrency, await this.prices(rows));
  }

  /** Facts for item prices that `raw` holds as bare ids (rare). */
  private async prices(rows: readonly Subscription[]): Promise<Map<string, MrrPriceFacts>> {
    const ids = [...new Set(rows.flatMap(unexpandedItemPriceIds))];
    if (ids.length === 0) return new Map();
    const facts = await this.loaders.mrrPriceById.loadMany(ids);
    const out = new Map<string, MrrPriceFacts>();
    ids.forEach((id, i) => {
      const f = facts[i];
      if (f && !(f instanceof Error)) out.set(id, f);
    });
    return out;
  }
}
