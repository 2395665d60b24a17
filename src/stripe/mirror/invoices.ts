/**
 * Invoices (with all their lines) → `invoices` + `invoice_lines`. Lines are rewritten with their
 * invoice: upserted by id in Stripe's order (`position`), and lines no longer on the invoice deleted.
 */
import { TransactionPropagation, type EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { toStorableText } from '../../text/storable.js';
import { at, atOrNull, idOf, MirrorInputError, rawCopy, type MirrorWriteOptions } from './common.js';
import { deferredChildRows, writeChildRows } from './deferred-rows.js';
import { dropKept, keep, upsertManyRows } from './batch.js';

/** Expandable fields of an invoice stored as ids in `raw`. */
const INVOICE_COLLAPSED = ['customer', 'test_clock', 'default_payment_method', 'default_source', 'latest_revision', 'application', 'on_behalf_of'] as const;
/**
 * Fields Stripe shows only when asked for (`expand`): dropped so `raw` does not depend on how the
 * invoice was read; `confirmation_secret` is also a payment's client secret, which has no business in the mirror.
 */
const INVOICE_DROPPED = ['confirmation_secret', 'payments'] as const;

export interface InvoiceWriteOptions extends MirrorWriteOptions {
  /**
   * Every line of the invoice, when `invoice.lines.has_more` (see `fetchAllLines`). Without it an
   * invoice whose inline list is truncated is refused: storing a partial list would delete lines.
   */
  lines?: Stripe.InvoiceLineItem[];
}

/**
 * Every line of an invoice: the inline list when it is complete, else Stripe's line list through the
 * SDK's auto-pagination (`invoices.listLineItems`, `pageSize` lines per request, at most 100).
 */
export async function fetchAllLines(
  stripe: Stripe,
  invoice: Pick<Stripe.Invoice, 'id' | 'lines'>,
  pageSize = 100,
): Promise<Stripe.InvoiceLineItem[]> {
  if (!invoice.id) throw new MirrorInputError('invoice without an id (a preview?) has no lines to list');
  if (invoice.lines && !invoice.lines.has_more) return invoice.lines.data;
  const out: Stripe.InvoiceLineItem[] = [];
  for await (const line of stripe.invoices.listLineItems(invoice.id, { limit: pageSize })) out.push(line);
  return out;
}

/** An invoice Stripe stores (previews of upcoming invoices have no `in_…` id and are not mirrored). */
export function isMirrorableInvoice(invoice: { id?: string | null }): boolean {
  return typeof invoice.id === 'string' && invoice.id.startsWith('in_');
}

/** The subscription an invoice bills (current API: `parent.subscription_details.subscription`). */
export function invoiceSubscriptionId(invoice: Pick<Stripe.Invoice, 'parent'>): string | null {
  return idOf(invoice.parent?.subscription_details?.subscription);
}

/**
 * The invoice's own columns (pure): shared by stored invoices and by previews of upcoming invoices,
 * which have no `in_…` id and are never stored but are shown the same way.
 */
export function invoiceFields(invoice: Stripe.Invoice) {
  return {
    customerId: idOf(invoice.customer),
    subscriptionId: invoiceSubscriptionId(invoice),
    number: invoice.number ?? null,
    // Stripe documents `status` as nullable (drafts of some flows, previews); the column is not.
    status: invoice.status ?? 'draft',
    billingReason: invoice.billing_reason ?? null,
    currency: invoice.currency,
    subtotal: invoice.subtotal ?? 0,
    total: invoice.total,
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    attemptCount: invoice.attempt_count ?? 0,
    nextPaymentAttempt: atOrNull(invoice.next_payment_attempt),
    createdAt: at(invoice.created),
    periodStart: atOrNull(invoice.period_start),
    periodEnd: atOrNull(invoice.period_end),
    dueDate: atOrNull(invoice.due_date),
    paidAt: atOrNull(invoice.status_transitions?.paid_at),
    hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
    invoicePdf: invoice.invoice_pdf ?? null,
    testClock: idOf(invoice.test_clock),
  };
}

/** Row data for the invoice (pure). */
export function invoiceRow(invoice: Stripe.Invoice, opts: MirrorWriteOptions = {}, now = new Date(), lines?: Stripe.InvoiceLineItem[]) {
  if (!isMirrorableInvoice(invoice)) throw new MirrorInputError(`invoice ${String(invoice.id)}: not a stored invoice (preview?)`);
  const fields = invoiceFields(invoice);
  if (!fields.customerId) throw new MirrorInputError(`invoice ${invoice.id}: no customer`);
  // `raw` holds the whole invoice, all its lines included.
  const rawInvoice = lines ? { ...invoice, lines: { ...invoice.lines, data: lines, has_more: false } } : invoice;
  return {
    id: invoice.id,
    ...fields,
    customerId: fields.customerId,
    raw: rawCopy(rawInvoice as Stripe.Invoice, INVOICE_COLLAPSED, INVOICE_DROPPED),
    lastEventAt: opts.lastEventAt ?? null,
    syncedAt: now,
  };
}

/**
 * `raw` as the writer stores it for this copy, or null when the writer would store something else
 * (a truncated line list: it fetches every line).
 */
export function invoiceRaw(invoice: Stripe.Invoice): unknown {
  invoice = toStorableText(invoice);
  if (!isMirrorableInvoice(invoice) || !invoice.lines || invoice.lines.has_more) return null;
  return rawCopy(invoice, INVOICE_COLLAPSED, INVOICE_DROPPED);
}

/** Row data for the lines (pure), in Stripe's order. */
export function invoiceLineRows(invoiceId: string, lines: Stripe.InvoiceLineItem[]) {
  return lines.map((line, position) => ({
    id: line.id,
    invoiceId,
    description: line.description ?? null,
    amount: line.amount,
    currency: line.currency,
    quantity: line.quantity ?? null,
    periodStart: atOrNull(line.period?.start),
    periodEnd: atOrNull(line.period?.end),
    priceId: idOf(line.pricing?.price_details?.price),
    proration: line.parent?.subscription_item_details?.proration ?? line.parent?.invoice_item_details?.proration ?? false,
    position,
  }));
}

function linesOf(invoice: Stripe.Invoice, given: Stripe.InvoiceLineItem[] | undefined): Stripe.InvoiceLineItem[] {
  if (given) return given;
  if (!invoice.lines || !Array.isArray(invoice.lines.data)) throw new MirrorInputError(`invoice ${invoice.id}: no lines list`);
  if (invoice.lines.has_more) {
    throw new MirrorInputError(`invoice ${invoice.id}: lines list is truncated (has_more); pass every line (fetchAllLines)`);
  }
  return invoice.lines.data;
}

/**
 * Writes the invoice and its lines in one transaction (joining the caller's, if any): one upsert of the
 * invoice, one multi-row upsert of the lines, one delete of lines no longer present. Idempotent.
 */
export async function upsertInvoice(em: EntityManager, invoice: Stripe.Invoice, opts: InvoiceWriteOptions = {}): Promise<Invoice> {
  invoice = toStorableText(invoice);
  if (opts.lines) opts = { ...opts, lines: toStorableText(opts.lines) };
  const lines = linesOf(invoice, opts.lines);
  const now = new Date();
  const row = invoiceRow(invoice, opts, now, opts.lines);
  const lineRows = invoiceLineRows(row.id, lines);
  // In a mirror batch: the row kept for one statement for the batch's invoices, its lines for the
  // batch's end (./batch.ts, ./deferred-rows.ts).
  if (keep(em, 'invoices', row.id, row, writeInvoiceRows)) {
    await writeChildRows(em, 'invoiceLines', row.id, lineRows);
    return em.getReference(Invoice, row.id);
  }
  return em.transactional(
    async (tx) => {
      const saved = await tx.upsert(Invoice, row);
      await writeChildRows(tx, 'invoiceLines', row.id, lineRows);
      return saved;
    },
    { propagation: TransactionPropagation.REQUIRED },
  );
}


/** A batch's kept invoice rows (`keep`): one upsert. */
const writeInvoiceRows = (em: EntityManager, rows: ReturnType<typeof invoiceRow>[]) => upsertManyRows(em, Invoice, 'invoices', rows);

/** Removes a deleted (draft) invoice and its lines (`invoice.deleted`). */
export async function deleteInvoice(em: EntityManager, invoiceId: string): Promise<void> {
  await em.transactional(
    async (tx) => {
      deferredChildRows(tx)?.invoiceLines.delete(invoiceId);
      dropKept(tx, 'invoices', invoiceId);
      await tx.nativeDelete(InvoiceLine, { invoiceId });
      await tx.nativeDelete(Invoice, { id: invoiceId });
    },
    { propagation: TransactionPropagation.REQUIRED },
  );
}
