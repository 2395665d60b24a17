/**
 * What a full sync asks Stripe for before its database work can start: the subscription events whose
 * copies give the revenue history its MRR points (`revenue-backfill.ts`; Stripe holds 30 days of them),
 * and the first page of each list. A module of its own, with nothing but the Stripe client, so the CLI
 * can send these while the database modules are still loading.
 */
import type Stripe from 'stripe';

export const SUBSCRIPTION_EVENTS = ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'];

/** Objects per page of Stripe's lists (its maximum). */
export const LIST_PAGE = 100;

/**
 * The subscriptions list as the full sync reads it: every status, discounts expanded down to their
 * coupon (`data.` + SUBSCRIPTION_MIRROR_EXPAND, which full.ts checks it matches), so none is re-read.
 */
export const SUBSCRIPTION_LIST_PARAMS = { status: 'all', expand: ['data.discounts.source.coupon'] } satisfies Stripe.SubscriptionListParams;

/**
 * Every subscription event Stripe still lists, newest first (by `created`). One list per type, side
 * by side: a cursor list is read a page after another, so three shorter lists arrive sooner than
 * one as long as the three together (most are updates; the creations' pages come at the same time).
 */
export async function listMrrEvents(stripe: Stripe): Promise<Stripe.Event[]> {
  const lists = await Promise.all(
    SUBSCRIPTION_EVENTS.map(async (type) => {
      const events: Stripe.Event[] = [];
      for await (const e of stripe.events.list({ type, limit: LIST_PAGE })) events.push(e);
      return events;
    }),
  );
  return lists.flat().sort((a, b) => b.created - a.created);
}

export interface FirstPages {
  customers: Promise<Stripe.ApiList<Stripe.Customer>>;
  subscriptions: Promise<Stripe.ApiList<Stripe.Subscription>>;
  invoices: Promise<Stripe.ApiList<Stripe.Invoice>>;
}

/**
 * The first page of each list, as `syncFull` would ask for it. Only for a full sync whose lists are
 * the truth from their start on (no events caught up before them): asked after the events cursor's
 * newest event, which must precede the listing.
 */
export function listFirstPages(stripe: Stripe): FirstPages {
  const pages: FirstPages = {
    customers: stripe.customers.list({ limit: LIST_PAGE }),
    subscriptions: stripe.subscriptions.list({ limit: LIST_PAGE, ...SUBSCRIPTION_LIST_PARAMS }),
    invoices: stripe.invoices.list({ limit: LIST_PAGE }),
  };
  // Observed where they are used; not left unhandled when they are not (a failure before the lists).
  for (const page of Object.values(pages)) void (page as Promise<unknown>).catch(() => undefined);
  return pages;
}
