import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { jsonClone, previousAttributes } from '../events.js';
import { newId } from '../ids.js';
import type { Stored } from '../store.js';
import { activeDiscounts, applyDiscounts } from './discounts.js';
import { createInvoicePaymentIntent } from './payments.js';
import {
  customerOf,
  type CustomerRecord,
  idOf,
  invoiceMeta,
  type InvoiceItemRecord,
  type InvoiceRecord,
  type LineRecord,
  type PriceRecord,
  type SubRecord,
} from './records.js';

/** One line to put on an invoice (a subscription item's period, usage, a proration, an invoice item). */
export interface LineInput {
  amount: number;
  description: string;
  period: { start: number; end: number };
  price: PriceRecord | null;
  quantity: number | null;
  proration: boolean;
  subscription: string | null;
  subscriptionItem: string | null;
  invoiceItem: string | null;
  discountable: boolean;
  metadata?: Record<string, string>;
}

export interface InvoiceDraft {
  customer: string;
  currency: string;
  subscription: SubRecord | null;
  billingReason: Stripe.Invoice.BillingReason;
  lines: LineInput[];
  /** Pending invoice items to pull in: those of this subscription, or (manual invoices) the customer's. */
  pendingItems: 'subscription' | 'customer' | 'none';
  periodStart: number;
  periodEnd: number;
  collectionMethod: Stripe.Invoice.CollectionMethod;
  daysUntilDue: number | null;
  autoAdvance: boolean;
  description?: string | null;
  metadata?: Record<string, string>;
  discounts?: string[];
  /** A preview (`create_preview`): nothing is stored, no events, items stay pending. */
  preview?: boolean;
  previewProrationDate?: number;
  /** A pre-allocated id (so the subscription event can already name its `latest_invoice`). */
  id?: string;
}

/** The draft fields a subscription decides: its customer, currency and collection terms, its pending items pulled in. */
export function subscriptionDraft(
  sub: SubRecord,
): Pick<InvoiceDraft, 'customer' | 'currency' | 'subscription' | 'pendingItems' | 'collectionMethod' | 'daysUntilDue'> {
  return {
    customer: idOf(sub.customer)!,
    currency: sub.currency,
    subscription: sub,
    pendingItems: 'subscription',
    collectionMethod: sub.collection_method,
    daysUntilDue: sub.days_until_due,
  };
}

export function productOf(price: PriceRecord | null): string | null {
  if (!price) return null;
  return typeof price.product === 'string' ? price.product : price.product.id;
}

export function productName(emu: Emulator, price: PriceRecord): string {
  const id = productOf(price);
  const product = id ? emu.store.get<Stripe.Product & Stored>('product', id) : undefined;
  return product?.name ?? price.nickname ?? price.id;
}

function buildLine(input: LineInput, invoiceId: string | null, currency: string): LineRecord {
  const proration = { credited_items: null };
  const parent: Stripe.InvoiceLineItem.Parent = input.subscriptionItem
    ? {
        type: 'subscription_item_details',
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: input.invoiceItem,
          proration: input.proration,
          proration_details: proration,
          subscription: input.subscription,
          subscription_item: input.subscriptionItem,
        },
      }
    : {
        type: 'invoice_item_details',
        subscription_item_details: null,
        invoice_item_details: {
          invoice_item: input.invoiceItem!,
          proration: input.proration,
          proration_details: proration,
          subscription: input.subscription,
        },
      };
  return {
    id: newId('il', 24),
    object: 'line_item',
    amount: input.amount,
    currency,
    description: input.description,
    discount_amounts: [],
    discountable: input.discountable,
    discounts: [],
    invoice: invoiceId,
    livemode: false,
    metadata: input.metadata ?? {},
    parent,
    period: input.period,
    pretax_credit_amounts: [],
    pricing: input.price
      ? {
          type: 'price_details',
          price_details: { price: input.price.id, product: productOf(input.price)! },
          unit_amount_decimal: input.price.unit_amount_decimal ?? null,
        }
      : null,
    quantity: input.quantity,
    quantity_decimal: input.quantity === null ? null : String(input.quantity),
    subscription: input.subscription,
    subtotal: input.amount,
    taxes: [],
  } as unknown as LineRecord;
}

/** A pending invoice item as a line input (prorations keep their subscription item). */
export function invoiceItemLine(emu: Emulator, ii: InvoiceItemRecord): LineInput {
  const priceId = idOf(ii.pricing?.price_details?.price);
  return {
    amount: ii.amount,
    description: ii.description ?? '',
    period: ii.period,
    price: priceId ? (emu.store.get<PriceRecord>('price', priceId) ?? null) : null,
    quantity: ii.quantity,
    proration: ii.proration,
    subscription: ii.parent?.subscription_details?.subscription ?? null,
    subscriptionItem: ii.parent?.subscription_details?.subscription_item ?? null,
    invoiceItem: ii.id,
    discountable: ii.discountable,
    metadata: (ii.metadata ?? {}) as Record<string, string>,
  };
}

export function pendingInvoiceItems(emu: Emulator, customer: string, subscription: string | null, scope: 'subscription' | 'customer'): InvoiceItemRecord[] {
  return emu.store
    .all<InvoiceItemRecord>('invoiceitem')
    .filter(
      (ii) =>
        !(ii as { deleted?: boolean }).deleted &&
        ii.invoice === null &&
        idOf(ii.customer) === customer &&
        (scope === 'customer' || ii.parent?.subscription_details?.subscription === subscription),
    );
}

/** Builds (and unless previewing, stores) a draft invoice; emits `invoice.created`. */
export function createInvoice(emu: Emulator, d: InvoiceDraft): InvoiceRecord {
  const customer = emu.store.get<CustomerRecord>('customer', d.customer)!;
  const now = d.subscription ? emu.nowFor(d.subscription) : emu.nowFor(customer);
  const id = d.id ?? (d.preview ? `upcoming_in_${newId('', 24).slice(1)}` : newId('in', 24));
  const pending = d.pendingItems === 'none' ? [] : pendingInvoiceItems(emu, d.customer, d.subscription?.id ?? null, d.pendingItems);
  const inputs = [...pending.map((ii) => invoiceItemLine(emu, ii)), ...d.lines];
  const lines = inputs.map((l) => buildLine(l, d.preview ? null : id, d.currency));
  if (!d.preview) {
    for (const ii of pending) ii.invoice = id;
  }
  const discounts = d.discounts ?? (d.subscription ? activeDiscounts(emu, d.subscription.discounts as string[], d.periodStart) : []);
  const inv = {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Stripe Emulator',
    account_tax_ids: null,
    amount_due: 0,
    amount_overpaid: 0,
    amount_paid: 0,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: false,
    auto_advance: d.preview ? false : d.autoAdvance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: d.billingReason,
    collection_method: d.collectionMethod,
    created: now,
    currency: d.currency,
    custom_fields: null,
    customer: d.customer,
    customer_account: null,
    customer_address: null,
    customer_email: customer.email ?? null,
    customer_name: customer.name ?? null,
    customer_phone: customer.phone ?? null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: d.description ?? null,
    discounts,
    due_date: null,
    effective_at: null,
    ending_balance: null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` },
    livemode: false,
    metadata: d.metadata ?? {},
    next_payment_attempt: null,
    number: null,
    on_behalf_of: null,
    parent: d.subscription
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: {
            metadata: { ...d.subscription.metadata },
            subscription: d.subscription.id,
            ...(d.previewProrationDate !== undefined ? { subscription_proration_date: d.previewProrationDate } : {}),
          },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: d.periodEnd,
    period_start: d.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'draft',
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    subtotal: 0,
    subtotal_excluding_tax: 0,
    test_clock: customer.test_clock ? idOf(customer.test_clock) : null,
    total: 0,
    total_discount_amounts: [],
    total_excluding_tax: 0,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: null,
  } as unknown as InvoiceRecord;
  recomputeTotals(emu, inv);
  if (d.preview) {
    // A preview shows the customer's balance as it would apply.
    applyBalance(inv, customer.balance ?? 0);
    return inv;
  }
  emu.store.insert('invoice', inv);
  invoiceMeta(emu, id).days_until_due = d.daysUntilDue;
  emu.events.emit('invoice.created', inv);
  // A "once" coupon is spent by the first invoice it discounts.
  if (d.subscription) spendOnceDiscounts(emu, d.subscription, inv);
  return inv;
}

function spendOnceDiscounts(emu: Emulator, sub: SubRecord, inv: InvoiceRecord): void {
  const used = (inv.total_discount_amounts ?? []).filter((t) => t.amount > 0).map((t) => idOf(t.discount)!);
  const spent = used.filter((id) => {
    const d = emu.store.get<Stripe.Discount & Stored>('discount', id);
    const couponId = d ? idOf(d.source?.coupon) : null;
    const coupon = couponId ? emu.store.get<Stripe.Coupon & Stored>('coupon', couponId) : undefined;
    return coupon?.duration === 'once';
  });
  if (spent.length === 0) return;
  sub.discounts = (sub.discounts as string[]).filter((id) => !spent.includes(id));
  for (const id of spent) {
    const d = emu.store.get<Stripe.Discount & Stored>('discount', id);
    if (d) d.end = inv.created;
  }
  emu.store.changed();
}

/** Subtotal, discounts, total and the amounts due, from the lines (drafts: before any customer balance). */
export function recomputeTotals(emu: Emulator, inv: InvoiceRecord): void {
  const lines = inv.lines.data;
  const subtotal = lines.reduce((a, l) => a + l.amount, 0);
  const totals = applyDiscounts(emu, lines, (inv.discounts as string[]).map((d) => idOf(d)!), inv.currency);
  const discount = totals.reduce((a, t) => a + t.amount, 0);
  inv.subtotal = subtotal;
  inv.subtotal_excluding_tax = subtotal;
  inv.total_discount_amounts = totals;
  inv.total = subtotal - discount;
  inv.total_excluding_tax = inv.total;
  inv.amount_due = Math.max(0, inv.total);
  inv.amount_remaining = Math.max(0, inv.amount_due - inv.amount_paid);
}

/** Applies the customer's balance (negative = credit) as Stripe does at finalization; returns the new balance. */
function applyBalance(inv: InvoiceRecord, balance: number): number {
  const net = inv.total + balance;
  inv.starting_balance = balance;
  inv.amount_due = Math.max(0, net);
  inv.amount_remaining = inv.amount_due - inv.amount_paid;
  inv.ending_balance = Math.min(0, net);
  return Math.min(0, net);
}

/**
 * draft → open: number, customer balance, hosted URLs, due date, the PaymentIntent when something
 * is due; emits `invoice.finalized`. A zero invoice is paid on the spot (`invoice.paid`,
 * `invoice.payment_succeeded`). Charging is the caller's decision.
 */
export function finalizeInvoice(emu: Emulator, inv: InvoiceRecord): void {
  const customer = customerOf(emu, inv);
  const now = emu.nowFor(inv);
  recomputeTotals(emu, inv);
  customer.balance = applyBalance(inv, customer.balance ?? 0);
  const seq = customer.next_invoice_sequence ?? 1;
  customer.next_invoice_sequence = seq + 1;
  Object.assign(inv, {
    status: 'open',
    number: `${customer.invoice_prefix}-${String(seq).padStart(4, '0')}`,
    effective_at: now,
    automatically_finalizes_at: null,
    hosted_invoice_url: `${emu.baseUrl}/invoices/${inv.id}`,
    invoice_pdf: `${emu.baseUrl}/invoices/${inv.id}/pdf`,
    due_date: inv.collection_method === 'send_invoice' ? now + (dueDays(emu, inv) ?? 30) * 86_400 : null,
  });
  inv.status_transitions.finalized_at = now;
  invoiceMeta(emu, inv.id).finalize_at = null;
  emu.store.changed();
  emu.events.emit('invoice.finalized', inv);
  if (inv.amount_due > 0) {
    createInvoicePaymentIntent(emu, inv);
  } else {
    Object.assign(inv, { status: 'paid', auto_advance: false, attempted: true });
    inv.status_transitions.paid_at = now;
    const paid = emu.events.emit('invoice.paid', inv);
    emu.events.emit('invoice.payment_succeeded', inv, { sameSnapshotAs: paid });
  }
}

function dueDays(emu: Emulator, inv: InvoiceRecord): number | null {
  return invoiceMeta(emu, inv.id).days_until_due ?? null;
}

/** Emits `invoice.updated` with previous attributes after `mutate`, like `updateWithEvent`. */
export function updateInvoice(emu: Emulator, inv: InvoiceRecord, mutate: (i: InvoiceRecord) => void): InvoiceRecord {
  const before = jsonClone(inv) as Record<string, unknown>;
  mutate(inv);
  const prev = previousAttributes(before, inv as unknown as Record<string, unknown>);
  if (Object.keys(prev).length > 0) {
    emu.store.changed();
    emu.events.emit('invoice.updated', inv, { previousAttributes: prev });
  }
  return inv;
}
