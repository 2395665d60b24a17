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

export interface BillingLoaders {
  subscriptionById: DataLoader<string, Subscription | null>;
  /** Newest first. */
  subscriptionsByCustomerId: DataLoader<string, Subscription[]>;
  invoiceById: DataLoader<string, InvoiceRow | null>;
  /** In Stripe's order. */
  invoiceLinesByInvoiceId: DataLoader<string, InvoiceLine[]>;
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
    invoiceLinesByInvoiceId: new DataLoader((ids: readonly string[]) => batchInvoiceLines(em, ids)),
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
