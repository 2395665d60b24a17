import type Stripe from 'stripe';

/** Every event the emulator stored, oldest first (the API lists newest first). */
export async function allEvents(stripe: Stripe): Promise<Stripe.Event[]> {
  const out: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100 })) out.push(e);
  return out.reverse();
}

function subscriptionOf(obj: Record<string, unknown>): string | null {
  if (obj.object === 'subscription') return obj.id as string;
  const parent = obj.parent as { subscription_details?: { subscription?: string } } | null | undefined;
  return parent?.subscription_details?.subscription ?? null;
}

/**
 * The types of the events about a subscription (the subscription itself and its invoices), oldest
 * first, optionally only those of the given types.
 */
export async function subscriptionEventTypes(stripe: Stripe, subscriptionId: string, only?: string[]): Promise<string[]> {
  return (await subscriptionEvents(stripe, subscriptionId, only)).map((e) => e.type);
}

export async function subscriptionEvents(stripe: Stripe, subscriptionId: string, only?: string[]): Promise<Stripe.Event[]> {
  return (await allEvents(stripe)).filter(
    (e) => subscriptionOf(e.data.object as unknown as Record<string, unknown>) === subscriptionId && (!only || only.includes(e.type)),
  );
}

/** Events of the PaymentIntents that pay a subscription's invoices. */
export async function paymentIntentEventTypes(stripe: Stripe, paymentIntentId: string): Promise<string[]> {
  return (await allEvents(stripe)).filter((e) => (e.data.object as { id?: string }).id === paymentIntentId).map((e) => e.type);
}

/** The PaymentIntent that pays an invoice (current API: through `invoice.payments`). */
export async function invoicePaymentIntent(stripe: Stripe, invoiceId: string): Promise<Stripe.PaymentIntent> {
  const inv = await stripe.invoices.retrieve(invoiceId, { expand: ['payments'] });
  const id = inv.payments?.data[0]?.payment.payment_intent;
  if (!id) throw new Error(`invoice ${invoiceId} has no payment intent`);
  return stripe.paymentIntents.retrieve(typeof id === 'string' ? id : id.id);
}

export const DAY = 86_400;
export const HOUR = 3600;
/** 2026-01-01T00:00:00Z: a month of 31 days follows. */
export const JAN_1_2026 = Date.UTC(2026, 0, 1) / 1000;
