import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest, resourceMissing } from '../errors.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import { mergeMetadata } from '../resources/common.js';
import { resolvePaymentMethod, type PaymentMethodRecord } from '../resources/payment-methods.js';
import type { Stored } from '../store.js';
import { createInvoice, finalizeInvoice, updateInvoice } from './invoices.js';
import { invoicePaymentIntent, invoicePayments, markInvoicePaid, type ChargeSession } from './payments.js';
import { idOf, invoiceSubscriptionId, type CustomerRecord, type InvoiceItemRecord, type InvoiceRecord, type PaymentIntentRecord } from './records.js';
import { afterInvoicePaid, chargeInvoice } from './subscription-payments.js';
import { markUncollectible, voidInvoice } from './invoice-transitions.js';

export function requireInvoice(emu: Emulator, id: string, param = 'id'): InvoiceRecord {
  return emu.store.require<InvoiceRecord>('invoice', id, 'invoice', param);
}

export function requireCustomer(emu: Emulator, id: string, param = 'customer'): CustomerRecord {
  const c = emu.store.get<CustomerRecord>('customer', id);
  if (!c || (c as { deleted?: boolean }).deleted) throw resourceMissing('customer', id, param);
  return c;
}

/**
 * Pays an open invoice now (`POST /v1/invoices/:id/pay`, `POST /v1/payment_intents/:id/confirm`):
 * with the given card, else the default one. A decline answers 402 like Stripe, after recording
 * the failed attempt. `invoices.pay` is off session (Stripe's default); on session (confirm) a card
 * that needs 3-D Secure leaves the PaymentIntent `requires_action` and returns normally.
 * Exported for the hosted invoice page.
 */
export function payInvoice(
  emu: Emulator,
  inv: InvoiceRecord,
  paymentMethod?: string,
  param = 'payment_method',
  session: ChargeSession = 'off_session',
): InvoiceRecord {
  if (inv.status === 'paid') throw invalidRequest('Invoice is already paid.', undefined, 'invoice_already_paid');
  if (inv.status !== 'open') throw invalidRequest(`You can only pay an open invoice; this one is ${inv.status}.`, undefined, 'invoice_not_editable');
  const pm: PaymentMethodRecord | null = paymentMethod ? resolvePaymentMethod(emu, paymentMethod, param) : null;
  const outcome = chargeInvoice(emu, inv, pm, true, session);
  if (!outcome.ok && outcome.requiresAction && session === 'off_session') {
    // Stripe's answer to `invoices.pay` when the card asks for 3-D Secure: the PaymentIntent waits
    // in `requires_action` for the customer (hosted invoice page or Stripe.js).
    const pi = invoicePaymentIntent(emu, inv);
    throw new StripeError(402, {
      type: 'card_error',
      code: 'invoice_payment_intent_requires_action',
      message:
        'This payment requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with the invoice. For more details see: https://stripe.com/docs/billing/subscriptions/overview#requires-action',
      doc_url: 'https://stripe.com/docs/error-codes/invoice-payment-intent-requires-action',
      ...(pi ? { payment_intent: structuredClone(pi) } : {}),
    });
  }
  if (!outcome.ok && !outcome.requiresAction) {
    // The error of the card actually charged (the given one, else the invoice's default).
    const pi = invoicePaymentIntent(emu, inv);
    throw new StripeError(402, { ...(outcome.error as unknown as Record<string, unknown>), ...(pi ? { payment_intent: structuredClone(pi) } : {}), type: 'card_error' } as never);
  }
  return inv;
}

/** The invoice a PaymentIntent pays (through its `invoice_payment`), if any. */
export function invoiceOfPaymentIntent(emu: Emulator, pi: PaymentIntentRecord): InvoiceRecord | undefined {
  const invPayment = emu.store.all<Stripe.InvoicePayment & Stored>('invoice_payment').find((ip) => ip.payment.payment_intent === pi.id);
  return invPayment ? emu.store.get<InvoiceRecord>('invoice', idOf(invPayment.invoice)!) : undefined;
}

/** Confirming an invoice's PaymentIntent pays the invoice, on session (or after the passed challenge). */
export function confirmInvoicePaymentIntent(emu: Emulator, pi: PaymentIntentRecord, paymentMethod: string, session: ChargeSession): void {
  payInvoice(emu, invoiceOfPaymentIntent(emu, pi)!, paymentMethod, 'payment_method', session);
}

export function registerInvoiceRoutes(router: Router, emu: Emulator): void {
  // Fields Stripe shows only when expanded.
  emu.includable('invoice', 'confirmation_secret', (obj) => {
    const pi = invoicePaymentIntent(emu, obj as InvoiceRecord);
    return pi?.client_secret ? { client_secret: pi.client_secret, type: 'payment_intent' } : null;
  });
  emu.includable('invoice', 'payments', (obj) => ({
    object: 'list',
    data: newestFirst(invoicePayments(emu, obj.id)),
    has_more: false,
    url: `/v1/invoice_payments?invoice=${obj.id}`,
  }));

  router.post('/v1/invoices', ({ params: p }) => {
    const customer = p.string('customer', { required: true });
    const subscription = p.string('subscription');
    const collection = p.enum('collection_method', ['charge_automatically', 'send_invoice'] as const) ?? 'charge_automatically';
    const daysUntilDue = p.int('days_until_due', { min: 0 });
    const autoAdvance = p.bool('auto_advance');
    const description = p.string('description');
    const metadata = p.metadata();
    const pending = p.enum('pending_invoice_items_behavior', ['exclude', 'include'] as const) ?? 'exclude';
    const currency = p.currency('currency');
    const defaultPm = p.string('default_payment_method');
    p.done();
    const c = requireCustomer(emu, customer);
    const sub = subscription ? emu.store.require<Stripe.Subscription & Stored>('subscription', subscription, 'subscription', 'subscription') : null;
    if (collection === 'send_invoice' && daysUntilDue === undefined) {
      throw invalidRequest('Missing required param: days_until_due.', 'days_until_due', 'parameter_missing');
    }
    if (defaultPm) emu.store.require('payment_method', defaultPm, 'PaymentMethod', 'default_payment_method');
    const now = emu.nowFor(c);
    const inv = createInvoice(emu, {
      customer,
      currency: currency ?? sub?.currency ?? c.currency ?? 'usd',
      subscription: (sub as never) ?? null,
      billingReason: 'manual',
      lines: [],
      pendingItems: pending === 'include' ? (sub ? 'subscription' : 'customer') : 'none',
      periodStart: now,
      periodEnd: now,
      collectionMethod: collection,
      daysUntilDue: daysUntilDue ?? null,
      autoAdvance: autoAdvance ?? false,
      ...(description ? { description } : {}),
      ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
      discounts: [],
    });
    if (defaultPm) inv.default_payment_method = defaultPm;
    return inv;
  });

  router.get('/v1/invoices/:id', ({ params: p, path }) => {
    p.done();
    return requireInvoice(emu, path.id!);
  });

  router.post('/v1/invoices/:id', ({ params: p, path }) => {
    const inv = requireInvoice(emu, path.id!);
    const metadata = p.metadata();
    const description = p.nullableString('description');
    const autoAdvance = p.bool('auto_advance');
    const defaultPm = p.nullableString('default_payment_method');
    const daysUntilDue = p.int('days_until_due', { min: 0 });
    p.done();
    if (inv.status !== 'draft' && (description !== undefined || daysUntilDue !== undefined)) {
      throw invalidRequest('Only draft invoices can be edited this way.', 'description', 'invoice_not_editable');
    }
    return updateInvoice(emu, inv, (i) => {
      if (metadata !== undefined) i.metadata = mergeMetadata((i.metadata ?? {}) as Record<string, string>, metadata);
      if (description !== undefined) i.description = description;
      if (autoAdvance !== undefined) i.auto_advance = autoAdvance;
      if (defaultPm !== undefined) i.default_payment_method = defaultPm;
    });
  });

  router.delete('/v1/invoices/:id', ({ params: p, path }) => {
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status !== 'draft') throw invalidRequest('You can only delete draft invoices.', undefined, 'invoice_not_editable');
    for (const ii of emu.store.all<InvoiceItemRecord>('invoiceitem')) if (ii.invoice === inv.id) ii.invoice = null;
    emu.store.delete('invoice', inv.id);
    emu.events.emit('invoice.deleted', inv);
    return { id: inv.id, object: 'invoice', deleted: true };
  });

  router.get('/v1/invoices', ({ params: p, url }) => {
    const customer = p.string('customer');
    const subscription = p.string('subscription');
    const status = p.enum('status', ['draft', 'open', 'paid', 'uncollectible', 'void'] as const);
    const collection = p.enum('collection_method', ['charge_automatically', 'send_invoice'] as const);
    const created = createdFilter(p);
    const dueDate = createdFilter(p, 'due_date');
    const list = newestFirst(emu.store.all<InvoiceRecord>('invoice')).filter(
      (i) =>
        (customer === undefined || idOf(i.customer) === customer) &&
        (subscription === undefined || invoiceSubscriptionId(i) === subscription) &&
        (status === undefined || i.status === status) &&
        (collection === undefined || i.collection_method === collection) &&
        (!created || created(i.created)) &&
        (!dueDate || (i.due_date !== null && dueDate(i.due_date))),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  /** Finalizes a draft as `/finalize` does (a zero invoice is paid at once). */
  const finalizeDraft = (inv: InvoiceRecord): void => {
    finalizeInvoice(emu, inv);
    if (inv.status === 'paid') afterInvoicePaid(emu, inv, null);
    else if (inv.status === 'open' && inv.auto_advance && inv.collection_method === 'charge_automatically') {
      // Stripe attempts an auto-advancing invoice about an hour after finalization.
      inv.next_payment_attempt = emu.nowFor(inv) + 3600;
    }
  };

  router.post('/v1/invoices/:id/finalize', ({ params: p, path }) => {
    const autoAdvance = p.bool('auto_advance');
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status !== 'draft') throw invalidRequest('This invoice is already finalized.', undefined, 'invoice_not_editable');
    if (autoAdvance !== undefined) inv.auto_advance = autoAdvance;
    finalizeDraft(inv);
    return inv;
  });

  /**
   * Sends the invoice to the customer: a draft is finalized first; test mode sends no e-mail, only
   * `invoice.sent` (as Stripe's docs say). Sending again is a reminder. A void invoice is refused
   * (an assumption: nothing is left to pay).
   */
  router.post('/v1/invoices/:id/send', ({ params: p, path }) => {
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status === 'void') throw invalidRequest('This invoice is void and cannot be sent.', undefined, 'invoice_not_editable');
    if (inv.status === 'draft') finalizeDraft(inv);
    emu.events.emit('invoice.sent', inv);
    return inv;
  });

  router.post('/v1/invoices/:id/pay', ({ params: p, path }) => {
    const paymentMethod = p.string('payment_method');
    const outOfBand = p.bool('paid_out_of_band');
    p.bool('off_session');
    p.bool('forgive');
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status === 'draft') finalizeInvoice(emu, inv);
    if (inv.status === 'paid' && !outOfBand && inv.attempt_count === 0) return inv; // a zero invoice paid on finalization
    if (outOfBand) {
      if (inv.status !== 'open') throw invalidRequest(`You can only pay an open invoice; this one is ${inv.status}.`, undefined, 'invoice_not_editable');
      markInvoicePaid(emu, inv, emu.nowFor(inv), true);
      afterInvoicePaid(emu, inv, null);
      return inv;
    }
    return payInvoice(emu, inv, paymentMethod);
  });

  router.post('/v1/invoices/:id/void', ({ params: p, path }) => {
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status !== 'open' && inv.status !== 'uncollectible') {
      throw invalidRequest(`You can only void an open or uncollectible invoice; this one is ${inv.status}.`, undefined, 'invoice_not_editable');
    }
    voidInvoice(emu, inv);
    return inv;
  });

  router.post('/v1/invoices/:id/mark_uncollectible', ({ params: p, path }) => {
    p.done();
    const inv = requireInvoice(emu, path.id!);
    if (inv.status !== 'open') throw invalidRequest(`You can only mark an open invoice uncollectible; this one is ${inv.status}.`, undefined, 'invoice_not_editable');
    markUncollectible(emu, inv);
    return inv;
  });
}
