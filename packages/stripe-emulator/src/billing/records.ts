import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Stored } from '../store.js';
import type { Tier } from './money.js';

/** Stored shapes: exactly the SDK's types (see ARCHITECTURE.md), plus `Stored`'s index signature. */
export type SubRecord = Stripe.Subscription & Stored;
export type ItemRecord = Stripe.SubscriptionItem;
export type InvoiceRecord = Stripe.Invoice & Stored;
export type LineRecord = Stripe.InvoiceLineItem;
export type InvoiceItemRecord = Stripe.InvoiceItem & Stored;
export type PaymentIntentRecord = Stripe.PaymentIntent & Stored;
export type PriceRecord = Stripe.Price & Stored;
export type CustomerRecord = Stripe.Customer & Stored;
export type DiscountRecord = Stripe.Discount & Stored;
export type CouponRecord = Stripe.Coupon & Stored;
export type InvoicePaymentRecord = Stripe.InvoicePayment & Stored;

/** Side data Stripe does not show, kept in its own kinds (ARCHITECTURE.md: "side data stays in its own kind"). */
export const SUB_META = 'billing.subscription_meta';
export interface SubMeta extends Stored {
  /** `customer.subscription.trial_will_end` already sent for this trial end. */
  trialWillEndSentFor?: number | null;
  /** `invoice.upcoming` already sent for the renewal at this moment. */
  upcomingSentFor?: number | null;
}

export const INVOICE_META = 'billing.invoice_meta';
export interface InvoiceMeta extends Stored {
  payment_intent: string | null;
  /** The renewal left in draft waits for this moment before finalizing (Stripe: about an hour). */
  finalize_at: number | null;
  /** `days_until_due` of a send_invoice invoice (Stripe shows only the resulting `due_date`). */
  days_until_due?: number | null;
  /** The invoice's `invoice_payment` ids (an index: Stripe lists them under `invoice.payments`). */
  invoice_payments?: string[];
}

export function subMeta(emu: Emulator, subId: string): SubMeta {
  return emu.store.get<SubMeta>(SUB_META, subId) ?? emu.store.insert<SubMeta>(SUB_META, { id: subId, trialWillEndSentFor: null });
}

export function invoiceMeta(emu: Emulator, invoiceId: string): InvoiceMeta {
  return (
    emu.store.get<InvoiceMeta>(INVOICE_META, invoiceId) ??
    emu.store.insert<InvoiceMeta>(INVOICE_META, { id: invoiceId, payment_intent: null, finalize_at: null })
  );
}

export function priceTiers(emu: Emulator, priceId: string): Tier[] {
  return (emu.store.get<{ id: string; tiers: Tier[] }>('price_tiers', priceId)?.tiers ?? []) as Tier[];
}

export function customerOf(emu: Emulator, obj: { customer: unknown }): CustomerRecord {
  const id = typeof obj.customer === 'string' ? obj.customer : (obj.customer as { id: string }).id;
  return emu.store.get<CustomerRecord>('customer', id)!;
}

export function idOf(v: unknown): string | null {
  if (!v) return null;
  return typeof v === 'string' ? v : (v as { id: string }).id;
}

/** The subscription an invoice belongs to (`parent.subscription_details.subscription`). */
export function invoiceSubscriptionId(inv: Stripe.Invoice): string | null {
  return idOf(inv.parent?.subscription_details?.subscription);
}

export function isMetered(price: Stripe.Price): boolean {
  return price.recurring?.usage_type === 'metered';
}
