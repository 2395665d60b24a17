/**
 * The request's DataLoaders for subscriptions, invoices and their lines, and customers' access states
 * (one statement per batch;
 * the batch functions live with their queries in src/billing). Created per request, so nothing is
 * cached across requests; they read plain rows through a PlainReader (no identity map).
 */
import DataLoader from 'dataloader';
import { accessStatesOf, type AccessStateValue } from '../../billing/access/access-state.js';
import {
  batchInvoiceCounts,
  batchInvoiceLines,
  batchInvoicePageRows,
  batchInvoicesById,
  invoiceCountCacheKey,
  invoicePageCacheKey,
  type InvoiceCountKey,
  type InvoiceRow,
  type InvoicePageKey,
  type InvoicePageRows,
} from '../../billing/invoices/invoice-queries.js';
import type { MrrPriceFacts } from '../../billing/subscriptions/queries/subscription-mrr.js';
import { batchSubscriptionsByCustomer, batchSubscriptionsById } from '../../billing/subscriptions/queries/subscription-queries.js';
import { Price } from '../../db/entities/catalog.js';
import { placeholders, readPlainRows, type PlainReader } from '../../db/plain-rows.js';
import type { InvoiceLine } from '../../db/entities/invoice.js';
import type { Subscription } from '../../db/entities/subscription.js';

/**
 * A DataLoader that also hands out, synchronously, the values primed into it (never a loaded one):
 * a resolver whose value was primed by the statement that read its parent can answer without a
 * promise, so graphql-js completes the parent without waiting a turn (an invoice page's lines).
 */
export class PrimedLoader<K, V> extends DataLoader<K, V> {
  private readonly primed = new Map<K, V>();
  private readonly cache: Map<K, Promise<V>>;

  constructor(batch: DataLoader.BatchLoadFn<K, V>) {
    const cache = new Map<K, Promise<V>>();
    super(batch, { cacheMap: cache });
    this.cache = cache;
  }

  /** The primed value of `key`, if it was primed (and not cleared) before anything loaded it. */
  peek(key: K): V | undefined {
    return this.primed.get(key);
  }

  override prime(key: K, value: V | PromiseLike<V> | Error): this {
    // As DataLoader: a key already cached keeps its value.
    if (!this.cache.has(key) && !(value instanceof Error) && !(value && typeof (value as PromiseLike<V>).then === 'function')) this.primed.set(key, value as V);
    return super.prime(key, value);
  }

  override clear(key: K): this {
    this.primed.delete(key);
    return super.clear(key);
  }

  override clearAll(): this {
    this.primed.clear();
    return super.clearAll();
  }
}

export interface BillingLoaders {
  subscriptionById: DataLoader<string, Subscription | null>;
  /** Newest first. */
  subscriptionsByCustomerId: DataLoader<string, Subscription[]>;
  invoiceById: DataLoader<string, InvoiceRow | null>;
  /** In Stripe's order. */
  invoiceLinesByInvoiceId: PrimedLoader<string, InvoiceLine[]>;
  /** `first + 1` rows per key, newest first; one statement for all customers asking the same page shape. */
  invoicePageRows: DataLoader<InvoicePageKey, InvoicePageRows, string>;
  invoiceCount: DataLoader<InvoiceCountKey, number, string>;
  /** Facts of mirrored prices by id, for subscription items whose price is not expanded in `raw`. */
  mrrPriceById: DataLoader<string, MrrPriceFacts | null>;
  /** `Customer.accessState` and entitlements share it: one access computation per customer per request. */
  accessStateByCustomerId: DataLoader<string, AccessStateValue>;
}

export function createBillingLoaders(em: PlainReader): BillingLoaders {
  return {
    subscriptionById: new DataLoader((ids: readonly string[]) => batchSubscriptionsById(em, ids)),
    subscriptionsByCustomerId: new DataLoader((ids: readonly string[]) => batchSubscriptionsByCustomer(em, ids)),
    invoiceById: new DataLoader((ids: readonly string[]) => batchInvoicesById(em, ids)),
    invoiceLinesByInvoiceId: new PrimedLoader((ids: readonly string[]) => batchInvoiceLines(em, ids)),
    invoicePageRows: new DataLoader((keys: readonly InvoicePageKey[]) => batchInvoicePageRows(em, keys), { cacheKeyFn: invoicePageCacheKey }),
    invoiceCount: new DataLoader((keys: readonly InvoiceCountKey[]) => batchInvoiceCounts(em, keys), { cacheKeyFn: invoiceCountCacheKey }),
    mrrPriceById: new DataLoader(async (ids: readonly string[]) => {
      const rows = await readPlainRows(em, Price, `select * from prices where id in (${placeholders(ids.length)})`, ids);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const p = byId.get(id);
        return p
          ? { unitAmount: p.unitAmount ?? null, interval: p.recurringInterval ?? null, intervalCount: p.recurringIntervalCount ?? null, usageType: p.usageType ?? null }
          : null;
      });
    }),
    accessStateByCustomerId: new DataLoader(async (ids: readonly string[]) => {
      const states = await accessStatesOf(em, ids);
      return ids.map((id) => states.get(id) ?? 'NONE');
    }),
  };
}
