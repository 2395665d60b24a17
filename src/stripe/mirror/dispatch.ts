/**
 * One entry point for "store this Stripe object": picks the writer by `obj.object`. Used by the webhook
 * handler with an event's `data.object`, and by write-through after a mutation.
 * Convergence (is this copy the newest?) is decided by the caller before calling; see MirrorWriteOptions.
 */
import { TransactionPropagation, type EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { mirrorCatalog } from '../mirror-catalog.js';
import { toStorableText } from '../../text/storable.js';
import { MirrorInputError, type MirrorWriteOptions } from './common.js';
import { mirrorBatch } from './batch.js';
import { upsertCustomer } from './customers.js';
import { deleteInvoice, fetchAllLines, isMirrorableInvoice, upsertInvoice } from './invoices.js';
import { discountsExpanded, SUBSCRIPTION_MIRROR_EXPAND, upsertSubscription, type PlanCatalog } from './subscriptions.js';

export interface MirrorContext extends MirrorWriteOptions {
  catalog: PlanCatalog;
  /**
   * When given, what a payload lacks is fetched: a subscription whose discounts are ids is re-read
   * with SUBSCRIPTION_MIRROR_EXPAND, an invoice with a truncated line list gets all its lines.
   * Without it such objects are refused (MirrorInputError) rather than stored wrong.
   */
  stripe?: Stripe;
  /**
   * The event type the object came with: `customer.deleted` marks the customer deleted (the payload is
   * the customer as it was), `invoice.deleted` removes a deleted draft invoice.
   */
  eventType?: string;
  /**
   * Also store expanded objects nested in a subscription (`customer`, `latest_invoice`), as a mutation's
   * answer usually carries them. Default true.
   */
  nested?: boolean;
}

export type MirroredKind = 'customer' | 'subscription' | 'invoice' | 'product' | 'price' | 'billing.meter';

export type MirrorResult =
  | { kind: MirroredKind; id: string; action: 'upserted' | 'deleted' }
  | { kind: 'skipped'; object: string; id: string | null; reason: string };

/** Objects `mirrorObject` knows (anything else is skipped, not an error). */
export type MirrorableObject =
  | Stripe.Customer
  | Stripe.DeletedCustomer
  | Stripe.Subscription
  | Stripe.Invoice
  | Stripe.Product
  | Stripe.Price
  | Stripe.Billing.Meter
  | { object: string; id?: string };

/** The subscription with its discounts expanded down to the coupon (re-read only when needed). */
export async function withMirrorExpansions(stripe: Stripe, sub: Stripe.Subscription): Promise<Stripe.Subscription> {
  if (discountsExpanded(sub)) return sub;
  // Keep what the caller had expanded, so nested objects are still mirrored along.
  const kept = (['customer', 'latest_invoice'] as const).filter((f) => isObject(sub[f]));
  return stripe.subscriptions.retrieve(sub.id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND, ...kept] });
}

const isObject = (v: unknown): v is { object: string; id: string } =>
  !!v && typeof v === 'object' && typeof (v as { object?: unknown }).object === 'string';

/** Stores `obj` (and, for a subscription, its expanded customer and latest invoice) in the mirror. */
export async function mirrorObject(em: EntityManager, obj: MirrorableObject, ctx: MirrorContext): Promise<MirrorResult[]> {
  // Text PostgreSQL cannot hold is replaced once here (the writers below do it too, for their direct callers).
  obj = toStorableText(obj);
  const opts: MirrorWriteOptions = ctx.lastEventAt ? { lastEventAt: ctx.lastEventAt } : {};
  const id = typeof obj.id === 'string' ? obj.id : null;
  switch (obj.object) {
    case 'customer': {
      const c = obj as Stripe.Customer | Stripe.DeletedCustomer;
      const deleted = c.deleted === true || ctx.eventType === 'customer.deleted';
      await upsertCustomer(em, c, { ...opts, deleted });
      return [{ kind: 'customer', id: c.id, action: deleted ? 'deleted' : 'upserted' }];
    }
    case 'subscription': {
      // Stripe reads first, then one transaction for the subscription and what is nested in it.
      let sub = obj as Stripe.Subscription;
      if (ctx.stripe) sub = await withMirrorExpansions(ctx.stripe, sub);
      const nested = ctx.nested !== false;
      const customer = nested && isObject(sub.customer) && sub.customer.object === 'customer' ? (sub.customer as Stripe.Customer | Stripe.DeletedCustomer) : null;
      const invoice = nested && isObject(sub.latest_invoice) && isMirrorableInvoice(sub.latest_invoice) ? (sub.latest_invoice as Stripe.Invoice) : null;
      const invoiceLines = invoice?.lines?.has_more && ctx.stripe ? await fetchAllLines(ctx.stripe, invoice) : undefined;
      const write = async (tx: EntityManager) => {
        const results: MirrorResult[] = [];
        // Nested copies did not come with an event: written as API copies (last_event_at null).
        if (customer) {
          await upsertCustomer(tx, customer, { deleted: customer.deleted === true });
          results.push({ kind: 'customer', id: customer.id, action: customer.deleted === true ? 'deleted' : 'upserted' });
        }
        // Re-read for its discounts, the copy is the current state, no longer the event's.
        await upsertSubscription(tx, sub, ctx.catalog, sub === obj && ctx.eventType ? { ...opts, eventType: ctx.eventType } : opts);
        results.push({ kind: 'subscription', id: sub.id, action: 'upserted' });
        if (invoice) {
          await upsertInvoice(tx, invoice, invoiceLines ? { lines: invoiceLines } : {});
          results.push({ kind: 'invoice', id: invoice.id, action: 'upserted' });
        }
        return results;
      };
      // A mirror batch is one transaction already (and forking its EntityManager per write was a cost of its own).
      return mirrorBatch(em) ? write(em) : em.transactional(write, { propagation: TransactionPropagation.REQUIRED });
    }
    case 'invoice': {
      const invoice = obj as Stripe.Invoice;
      if (!isMirrorableInvoice(invoice)) return [{ kind: 'skipped', object: 'invoice', id, reason: 'preview invoice (no in_ id)' }];
      if (ctx.eventType === 'invoice.deleted' || (invoice as { deleted?: boolean }).deleted === true) {
        await deleteInvoice(em, invoice.id);
        return [{ kind: 'invoice', id: invoice.id, action: 'deleted' }];
      }
      const lines = invoice.lines?.has_more && ctx.stripe ? await fetchAllLines(ctx.stripe, invoice) : undefined;
      await upsertInvoice(em, invoice, { ...opts, ...(lines ? { lines } : {}) });
      return [{ kind: 'invoice', id: invoice.id, action: 'upserted' }];
    }
    // The catalog objects go through the catalog mirror (one writer per table).
    case 'product':
    case 'price':
    case 'billing.meter': {
      if ((obj as { deleted?: boolean }).deleted === true) {
        return [{ kind: 'skipped', object: obj.object, id, reason: 'deleted catalog object (kept as last seen)' }];
      }
      await mirrorCatalog(em, {
        products: obj.object === 'product' ? [obj as Stripe.Product] : [],
        prices: obj.object === 'price' ? [obj as Stripe.Price] : [],
        meters: obj.object === 'billing.meter' ? [obj as Stripe.Billing.Meter] : [],
      });
      return [{ kind: obj.object, id: id!, action: 'upserted' }];
    }
    default:
      return [{ kind: 'skipped', object: obj.object, id, reason: 'not mirrored' }];
  }
}

export { MirrorInputError };
