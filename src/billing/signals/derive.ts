/**
 * Which BillingEvents a processed Stripe event yields (pure). Each draft carries a dedup key from which
 * the stored id is derived, chosen so that the same fact is one event whatever Stripe sends twice:
 * a payment is keyed by its invoice (invoice.paid and invoice.payment_succeeded report the same
 * payment), a failure by invoice and attempt, a start/cancel by the subscription, an update by the
 * Stripe event. MRR_UPDATED and MILESTONE_REACHED come from the MRR step (./signals.ts), not from here.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import { idOf } from '../../stripe/mirror/common.js';
import { invoiceSubscriptionId } from '../../stripe/mirror/invoices.js';

export interface SignalDraft {
  /** What makes this signal unique (its id is derived from it). */
  dedupKey: string;
  type: BillingEventTypeValue;
  occurredAt: Date;
  customerId: string | null;
  subscriptionId: string | null;
  invoiceId: string | null;
  /** Minor units. */
  amount: number | null;
  currency: string | null;
  /** Extra details for the message and the `data` column (plan, retry, status, …). */
  data: Record<string, string | number | boolean | null>;
}

/** The stored id of a signal: stable for its dedup key, so a redelivery never yields a second id. */
export function billingEventId(dedupKey: string): string {
  return `bev_${createHash('sha256').update(dedupKey).digest('base64url').slice(0, 24)}`;
}

type PriceLike = { lookup_key?: string | null; metadata?: Record<string, string> | null; recurring?: { usage_type?: string | null } | null };

/** The plan (catalog id) of a subscription from its payload: the licensed item's price lookup_key or metadata.plan_id. */
export function planOfSubscription(sub: Stripe.Subscription): string | null {
  for (const item of sub.items?.data ?? []) {
    const price = item.price as unknown as PriceLike | string;
    if (typeof price === 'string' || !price) continue;
    if (price.recurring?.usage_type === 'metered') continue;
    return price.lookup_key ?? price.metadata?.plan_id ?? null;
  }
  return null;
}

/**
 * Event types after which the MRR may have changed: those whose handling writes the subscription mirror
 * (invoice events only touch invoices; Stripe reports every status change as a subscription event).
 */
export function mayChangeMrr(eventType: string): boolean {
  return eventType.startsWith('customer.subscription.') || eventType === 'checkout.session.completed';
}

/** The currency an event's object is in (the MRR currency to report on), if it has one. */
export function currencyOf(event: Stripe.Event): string | null {
  const obj = event.data.object as { currency?: unknown };
  return typeof obj.currency === 'string' && obj.currency ? obj.currency.toLowerCase() : null;
}

export function deriveSignals(event: Stripe.Event): SignalDraft[] {
  const occurredAt = new Date(event.created * 1000);
  const base = { occurredAt, customerId: null, subscriptionId: null, invoiceId: null, amount: null, currency: null, data: {} };
  switch (event.type) {
    case 'customer.created': {
      const c = event.data.object;
      return [{ ...base, type: 'CUSTOMER_CREATED', dedupKey: `CUSTOMER_CREATED:${c.id}`, customerId: c.id }];
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted': {
      const sub = event.data.object;
      const common = {
        ...base,
        customerId: idOf(sub.customer),
        subscriptionId: sub.id,
        data: { plan: planOfSubscription(sub), status: sub.status },
      };
      if (event.type === 'customer.subscription.created') return [{ ...common, type: 'SUBSCRIPTION_STARTED', dedupKey: `SUBSCRIPTION_STARTED:${sub.id}` }];
      if (event.type === 'customer.subscription.deleted') return [{ ...common, type: 'SUBSCRIPTION_CANCELED', dedupKey: `SUBSCRIPTION_CANCELED:${sub.id}` }];
      return [{ ...common, type: 'SUBSCRIPTION_UPDATED', dedupKey: `SUBSCRIPTION_UPDATED:${event.id}` }];
    }
    case 'invoice.created': {
      const inv = event.data.object;
      if (!inv.id) return [];
      return [
        {
          ...base,
          type: 'INVOICE_CREATED',
          dedupKey: `INVOICE_CREATED:${inv.id}`,
          customerId: idOf(inv.customer),
          subscriptionId: invoiceSubscriptionId(inv),
          invoiceId: inv.id,
          amount: inv.amount_due,
          currency: inv.currency,
        },
      ];
    }
    case 'invoice.paid':
    case 'invoice.payment_succeeded': {
      const inv = event.data.object;
      // A $0 invoice (a trial's first) is marked paid without a payment: nothing was received.
      if (!inv.id || !(inv.amount_paid > 0)) return [];
      return [
        {
          ...base,
          type: 'PAYMENT_RECEIVED',
          dedupKey: `PAYMENT_RECEIVED:${inv.id}`,
          customerId: idOf(inv.customer),
          subscriptionId: invoiceSubscriptionId(inv),
          invoiceId: inv.id,
          amount: inv.amount_paid,
          currency: inv.currency,
        },
      ];
    }
    case 'invoice.payment_failed': {
      const inv = event.data.object;
      if (!inv.id) return [];
      const attempt = inv.attempt_count ?? 0;
      return [
        {
          ...base,
          type: 'PAYMENT_FAILED',
          // One failure per attempt; a redelivery of the same attempt is the same failure.
          dedupKey: `PAYMENT_FAILED:${inv.id}:${attempt}`,
          customerId: idOf(inv.customer),
          subscriptionId: invoiceSubscriptionId(inv),
          invoiceId: inv.id,
          amount: inv.amount_due,
          currency: inv.currency,
          data: { retry: attempt },
        },
      ];
    }
    default:
      return [];
  }
}
