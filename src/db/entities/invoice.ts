import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';

/** Mirror of a Stripe invoice. Money columns are integer minor units of `currency`. */
export const InvoiceSchema = defineEntity({
  name: 'Invoice',
  tableName: 'invoices',
  properties: {
    /** in_… */
    id: p.text().primary(),
    customerId: p.text(),
    subscriptionId: p.text().nullable(),
    number: p.text().nullable(),
    /** draft | open | paid | uncollectible | void */
    status: p.text().$type<Stripe.Invoice.Status>(),
    /** subscription_create | subscription_cycle | subscription_update | manual | … */
    billingReason: p.text().nullable(),
    currency: p.text(),
    subtotal: p.integer().default(0),
    total: p.integer(),
    amountDue: p.integer(),
    amountPaid: p.integer(),
    attemptCount: p.integer().default(0),
    nextPaymentAttempt: p.datetime().nullable(),
    /** Stripe `created`. */
    createdAt: p.datetime(),
    periodStart: p.datetime().nullable(),
    periodEnd: p.datetime().nullable(),
    dueDate: p.datetime().nullable(),
    /** `status_transitions.paid_at`. */
    paidAt: p.datetime().nullable(),
    hostedInvoiceUrl: p.text().nullable(),
    invoicePdf: p.text().nullable(),
    testClock: p.text().nullable(),
    raw: p.json<Stripe.Invoice>(),
    /** `created` of the Stripe event that last wrote this row; null when written from an API response. */
    lastEventAt: p.datetime().nullable(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
  indexes: [
    // Newest-first keyset pages (`order by created_at desc, id desc`) scan this index backwards.
    { name: 'invoices_customer_id_created_at_id_index', properties: ['customerId', 'createdAt', 'id'] },
    { name: 'invoices_subscription_id_index', properties: ['subscriptionId'] },
    { name: 'invoices_status_index', properties: ['status'] },
    // Every customer's invoices (admins), keyset-paged newest first.
    { name: 'invoices_created_at_id_index', properties: ['createdAt', 'id'] },
  ],
});

export class Invoice extends InvoiceSchema.class {}
InvoiceSchema.setClass(Invoice);

/** One line of an invoice, in Stripe's order (`position`). Rewritten whole with its invoice. */
export const InvoiceLineSchema = defineEntity({
  name: 'InvoiceLine',
  tableName: 'invoice_lines',
  properties: {
    /** il_… */
    id: p.text().primary(),
    invoiceId: p.text(),
    description: p.text().nullable(),
    /** Minor units. */
    amount: p.integer(),
    currency: p.text(),
    quantity: p.integer().nullable(),
    periodStart: p.datetime().nullable(),
    periodEnd: p.datetime().nullable(),
    priceId: p.text().nullable(),
    proration: p.boolean().default(false),
    /** 0-based index in Stripe's `lines` list. */
    position: p.integer(),
  },
  indexes: [{ name: 'invoice_lines_invoice_id_position_index', properties: ['invoiceId', 'position'] }],
});

export class InvoiceLine extends InvoiceLineSchema.class {}
InvoiceLineSchema.setClass(InvoiceLine);
