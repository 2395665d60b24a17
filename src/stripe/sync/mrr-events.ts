/**
 * The subscription events Stripe still holds (30 days), whose copies give the revenue history its MRR
 * points (`revenue-backfill.ts`). A module of its own, with nothing but the Stripe client, so a full
 * sync can list them while the database modules are still loading.
 */
import type Stripe from 'stripe';

export const SUBSCRIPTION_EVENTS = ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'];

/** Every subscription event Stripe still lists (newest first). */
export async function listMrrEvents(stripe: Stripe): Promise<Stripe.Event[]> {
  const events: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ types: SUBSCRIPTION_EVENTS, limit: 100 })) events.push(e);
  return events;
}
