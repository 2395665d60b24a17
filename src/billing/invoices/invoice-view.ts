/**
 * An invoice as the API shows it, whether read from the mirror (`invoices`/`invoice_lines` rows) or
 * previewed from Stripe and never stored (`upcomingInvoice`). A preview is mapped by the mirror's own
 * column mapping, so both kinds read the same.
 */
import type Stripe from 'stripe';
import type { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { invoiceFields, invoiceLineRows } from '../../stripe/mirror/invoices.js';

export type InvoiceView = Pick<
  Invoice,
  | 'id'
  | 'customerId'
  | 'subscriptionId'
  | 'number'
  | 'status'
  | 'billingReason'
  | 'currency'
  | 'subtotal'
  | 'total'
  | 'amountDue'
  | 'amountPaid'
  | 'attemptCount'
  | 'createdAt'
  | 'periodStart'
  | 'periodEnd'
  | 'dueDate'
  | 'paidAt'
  | 'hostedInvoiceUrl'
  | 'invoicePdf'
>;

export type InvoiceLineView = Pick<InvoiceLine, 'id' | 'invoiceId' | 'description' | 'amount' | 'currency' | 'quantity' | 'periodStart' | 'periodEnd' | 'proration'>;

/** An invoice that is not stored, with its lines (in Stripe's order). */
export interface UnstoredInvoice {
  invoice: InvoiceView;
  lines: InvoiceLineView[];
}

/**
 * A Stripe invoice object that is not stored, e.g. a preview, with its inline lines (the caller
 * fetches every line first when `lines.has_more`). `fallbackId` names a preview that came without an id.
 */
export function unstoredInvoiceOf(invoice: Stripe.Invoice, fallbackId: string): UnstoredInvoice {
  const id = invoice.id ?? fallbackId;
  const fields = invoiceFields(invoice);
  return {
    invoice: { ...fields, id, customerId: fields.customerId ?? '' },
    lines: invoiceLineRows(id, invoice.lines?.data ?? []),
  };
}
