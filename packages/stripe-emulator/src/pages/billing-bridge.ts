import type Stripe from 'stripe';
import type { DiscountRequest } from '../billing/discounts.js';
import {
  createSubscription as createBilledSubscription,
  invoicePaymentIntent,
  payInvoice as payBilledInvoice,
  updateSubscription,
} from '../billing/index.js';
import type { InvoiceRecord } from '../billing/records.js';
import type { ChargeSession } from '../resources/payment-intents.js';
import { liveSubscription } from '../billing/subscription-lookups.js';
import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { updateWithEvent } from '../resources/common.js';
import type { CustomerRecord } from '../resources/customers.js';
import { attachPaymentMethod, type PaymentMethodRecord } from '../resources/payment-methods.js';
import { callApi } from './internal-api.js';

/**
 * What the hosted pages need from the rest of the emulator, in one place: customers and cards
 * (the resource modules) and subscriptions and invoices (the billing engine). Each goes through the
 * owning module, so a page changes state exactly as the equivalent API call does, events included.
 */
export interface PagesContext {
  emu: Emulator;
  router: Router;
}

export interface NewSubscription {
  customer: string;
  items: { price: string; quantity: number | null }[];
  trialPeriodDays?: number;
  metadata?: Record<string, string>;
  defaultPaymentMethod: string;
  discounts?: { coupon?: string | null; promotion_code?: string | null }[];
}

/** Creates a customer as `POST /v1/customers` does (`customer.created`). */
export function createCustomer(ctx: PagesContext, fields: { email?: string | null }): Promise<CustomerRecord> {
  return callApi<CustomerRecord>(ctx.router, ctx.emu, 'POST', '/v1/customers', { email: fields.email ?? undefined });
}

/**
 * Attaches a card (id or test token) and makes it the customer's default for invoices, as
 * `payment_methods.attach` + `customers.update({ invoice_settings })` do. A declining card throws
 * the card error before anything changes.
 */
export function attachDefaultCard(ctx: PagesContext, customerId: string, paymentMethod: string): PaymentMethodRecord {
  const pm = attachPaymentMethod(ctx.emu, paymentMethod, customerId, 'payment_method');
  const customer = ctx.emu.store.require<CustomerRecord>('customer', customerId, 'customer', 'customer');
  updateWithEvent(ctx.emu, 'customer.updated', customer, (c) => {
    c.invoice_settings.default_payment_method = pm.id;
  });
  return pm;
}

/**
 * Creates the subscription that a completed checkout buys, through the billing engine's
 * `createSubscription` (the same code as `POST /v1/subscriptions`, events included), charging its
 * first invoice at once. `error_if_incomplete`: a failed first charge throws the card error and
 * leaves no subscription, so checkout completes nothing.
 */
export function createSubscription(ctx: PagesContext, sub: NewSubscription): Stripe.Subscription {
  return createBilledSubscription(ctx.emu, {
    customer: sub.customer,
    items: sub.items.map((i) => ({ price: i.price, ...(i.quantity !== null ? { quantity: i.quantity } : {}) })),
    defaultPaymentMethod: sub.defaultPaymentMethod,
    paymentBehavior: 'error_if_incomplete',
    // The customer is on the checkout page: a 3-D Secure challenge counts as passed there.
    firstPaymentSession: 'authenticated',
    ...(sub.trialPeriodDays ? { trialPeriodDays: sub.trialPeriodDays } : {}),
    ...(sub.metadata && Object.keys(sub.metadata).length > 0 ? { metadata: sub.metadata } : {}),
    ...(sub.discounts && sub.discounts.length > 0
      ? { discounts: sub.discounts.map((d) => (d.promotion_code ? { promotion_code: d.promotion_code } : { coupon: d.coupon ?? undefined })) as DiscountRequest[] }
      : {}),
  });
}

/** Pays an open invoice through the billing engine's `payInvoice` (`invoices.pay`: `invoice.paid`, or the failure events and a 402 card error). */
export function payInvoice(ctx: PagesContext, invoiceId: string, paymentMethod?: string, session: ChargeSession = 'off_session'): Stripe.Invoice {
  const inv = ctx.emu.store.require<InvoiceRecord>('invoice', invoiceId, 'invoice');
  return payBilledInvoice(ctx.emu, inv, paymentMethod, 'payment_method', session);
}

/** The invoice's PaymentIntent when it waits for the customer's 3-D Secure challenge. */
export function pendingAuthentication(emu: Emulator, invoiceId: string): Stripe.PaymentIntent | null {
  const inv = emu.store.require<InvoiceRecord>('invoice', invoiceId, 'invoice');
  const pi = invoicePaymentIntent(emu, inv);
  return pi?.status === 'requires_action' && inv.status === 'open' ? pi : null;
}

/** Cancels at period end or renews, through the billing engine's `updateSubscription` (`customer.subscription.updated`). */
export function setCancelAtPeriodEnd(ctx: PagesContext, subscriptionId: string, cancel: boolean): Stripe.Subscription {
  return updateSubscription(ctx.emu, liveSubscription(ctx.emu, subscriptionId), { cancelAtPeriodEnd: cancel });
}

/** Makes a card the subscription's own default, as `subscriptions.update({ default_payment_method })` does. */
export function setSubscriptionPaymentMethod(ctx: PagesContext, subscriptionId: string, paymentMethod: string): Stripe.Subscription {
  return updateSubscription(ctx.emu, liveSubscription(ctx.emu, subscriptionId), { defaultPaymentMethod: paymentMethod });
}
