import type Stripe from 'stripe';
import { invoicePaymentIntent, markInvoicePaid } from '../billing/payments.js';
import type { InvoiceRecord } from '../billing/records.js';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import { jsonClone, previousAttributes } from '../events.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { requireCharge } from './charges.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { refundCharge } from './refunds.js';

export type CreditNoteRecord = Stripe.CreditNote & Stored;

const REASONS = ['duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory'] as const;

/** Emits `invoice.updated` with what a credit note changed on its invoice. */
function changeInvoice(emu: Emulator, inv: InvoiceRecord, mutate: () => void): void {
  const before = jsonClone(inv) as Record<string, unknown>;
  mutate();
  const prev = previousAttributes(before, inv as Record<string, unknown>);
  if (Object.keys(prev).length > 0) {
    emu.store.changed();
    emu.events.emit('invoice.updated', inv, { previousAttributes: prev });
  }
}

/**
 * Credit notes on finalized invoices. On an open invoice (`pre_payment`) the credit lowers what is
 * left to pay (`amount_remaining`; a fully credited invoice is paid). On a paid invoice
 * (`post_payment`) it is refunded on the invoice's charge (`refund_amount`), credited to the
 * customer's balance (`credit_amount`) or settled outside Stripe (`out_of_band_amount`); without any
 * of these the whole credit goes to the customer's balance. Voiding gives a pre-payment credit back
 * to the invoice.
 */
export function registerCreditNotes(router: Router, emu: Emulator): void {
  const requireNote = (id: string): CreditNoteRecord => emu.store.require<CreditNoteRecord>('credit_note', id, 'credit_note');

  router.post('/v1/credit_notes', ({ params: p }) => {
    const invoiceId = p.string('invoice', { required: true });
    const lineParams = p.objects('lines') ?? [];
    const lines = lineParams.map((l, i) => ({
      type: l.enum('type', ['custom_line_item', 'invoice_line_item'] as const, { required: true }),
      invoiceLineItem: l.string('invoice_line_item'),
      quantity: l.int('quantity', { min: 1 }),
      unitAmount: l.int('unit_amount', { min: 0 }),
      amount: l.int('amount', { min: 0 }),
      description: l.string('description'),
      metadata: l.metadata(),
      param: `lines[${i}]`,
    }));
    for (const l of lineParams) {
      l.strings('tax_rates');
      l.objects('tax_amounts');
    }
    const amount = p.int('amount', { min: 0 });
    const creditAmount = p.int('credit_amount', { min: 0 });
    const refundAmount = p.int('refund_amount', { min: 0 });
    const outOfBandAmount = p.int('out_of_band_amount', { min: 0 });
    const memo = p.string('memo');
    const reason = p.enum('reason', REASONS);
    const metadata = p.metadata();
    const effectiveAt = p.int('effective_at', { min: 0 });
    p.enum('email_type', ['credit_note', 'none'] as const);
    p.done();

    const inv = emu.store.require<InvoiceRecord>('invoice', invoiceId, 'invoice', 'invoice');
    if (inv.status !== 'open' && inv.status !== 'paid') {
      throw invalidRequest(`You can only create a credit note for an open or paid invoice; this one is ${inv.status}.`, 'invoice', 'invoice_not_editable');
    }
    const noteId = newId('cn', 24);
    const noteLines: Stripe.CreditNoteLineItem[] = lines.map((l) => {
      let lineAmount: number;
      let unitAmount: number | null = null;
      let description = l.description ?? null;
      if (l.type === 'custom_line_item') {
        if (l.unitAmount === undefined) throw invalidRequest('Missing required param: unit_amount.', `${l.param}[unit_amount]`, 'parameter_missing');
        if (!description) throw invalidRequest('Missing required param: description.', `${l.param}[description]`, 'parameter_missing');
        unitAmount = l.unitAmount;
        lineAmount = l.unitAmount * (l.quantity ?? 1);
      } else {
        if (!l.invoiceLineItem) throw invalidRequest('Missing required param: invoice_line_item.', `${l.param}[invoice_line_item]`, 'parameter_missing');
        const line = inv.lines.data.find((x) => x.id === l.invoiceLineItem);
        if (!line) throw invalidRequest(`No such invoice line item: '${l.invoiceLineItem}'`, `${l.param}[invoice_line_item]`, 'resource_missing');
        description = line.description;
        lineAmount = l.amount ?? (l.quantity !== undefined && line.quantity ? Math.round((line.amount * l.quantity) / line.quantity) : line.amount);
      }
      return {
        id: newId('cnli', 24),
        object: 'credit_note_line_item',
        amount: lineAmount,
        description,
        discount_amount: 0,
        discount_amounts: [],
        ...(l.invoiceLineItem ? { invoice_line_item: l.invoiceLineItem } : {}),
        livemode: false,
        metadata: mergeMetadata({}, l.metadata),
        pretax_credit_amounts: [],
        quantity: l.quantity ?? 1,
        tax_rates: [],
        taxes: [],
        type: l.type,
        unit_amount: unitAmount,
        unit_amount_decimal: (unitAmount !== null ? String(unitAmount) : null) as unknown as Stripe.CreditNoteLineItem['unit_amount_decimal'],
      };
    });
    const total = noteLines.length > 0 ? noteLines.reduce((s, l) => s + l.amount, 0) : (amount ?? (inv.status === 'open' ? inv.amount_remaining : inv.amount_paid));
    if (amount !== undefined && noteLines.length > 0 && amount !== total) {
      throw invalidRequest(`The amount (${amount}) must equal the sum of the lines (${total}).`, 'amount');
    }
    if (total <= 0) throw invalidRequest('A credit note must credit a positive amount.', 'amount');
    const creditedBefore = emu.store.all<CreditNoteRecord>('credit_note').filter((n) => n.invoice === inv.id && n.status === 'issued').reduce((s, n) => s + n.total, 0);
    if (total + creditedBefore > inv.total) {
      throw invalidRequest(`The credit note total (${total}) is greater than what is left to credit on the invoice (${inv.total - creditedBefore}).`, 'amount', 'credit_note_amount_too_large');
    }

    let prePayment = 0;
    let postPayment = 0;
    let refundPart = 0;
    let creditPart = 0;
    let outOfBandPart = 0;
    if (inv.status === 'open') {
      if (total > inv.amount_remaining) {
        throw invalidRequest(`The credit note total (${total}) is greater than the invoice's amount remaining (${inv.amount_remaining}).`, 'amount');
      }
      if (refundAmount || creditAmount || outOfBandAmount) {
        throw invalidRequest('An open invoice is credited before payment: refund_amount, credit_amount and out_of_band_amount apply to paid invoices only.', 'refund_amount');
      }
      prePayment = total;
    } else {
      refundPart = refundAmount ?? 0;
      outOfBandPart = outOfBandAmount ?? 0;
      creditPart = creditAmount ?? (refundAmount === undefined && outOfBandAmount === undefined ? total : 0);
      if (refundPart + creditPart + outOfBandPart !== total) {
        throw invalidRequest(`The sum of refund_amount, credit_amount and out_of_band_amount must equal the credit note total (${total}).`, 'refund_amount');
      }
      postPayment = total;
    }
    const pi = refundPart > 0 ? invoicePaymentIntent(emu, inv) : null;
    if (refundPart > 0 && (!pi || !pi.latest_charge)) throw invalidRequest('This invoice was not paid by a charge that can be refunded.', 'refund_amount');

    const now = emu.nowFor(inv);
    const customerId = typeof inv.customer === 'string' ? inv.customer : inv.customer!.id;
    const sequence = emu.store.all<CreditNoteRecord>('credit_note').filter((n) => n.invoice === inv.id).length + 1;
    const refund = refundPart > 0 ? refundCharge(emu, requireCharge(emu, pi!.latest_charge as string), { amount: refundPart }) : null;
    const note: CreditNoteRecord = {
      id: noteId,
      object: 'credit_note',
      amount: total,
      amount_shipping: 0,
      created: now,
      currency: inv.currency,
      customer: customerId,
      customer_account: null,
      customer_balance_transaction: null,
      discount_amount: 0,
      discount_amounts: [],
      effective_at: effectiveAt ?? now,
      invoice: inv.id,
      lines: { object: 'list', data: noteLines, has_more: false, url: `/v1/credit_notes/${noteId}/lines` },
      livemode: false,
      memo: memo ?? null,
      metadata: mergeMetadata({}, metadata),
      number: `${inv.number ?? inv.id}-CN-${String(sequence).padStart(2, '0')}`,
      out_of_band_amount: outOfBandPart || null,
      pdf: `${emu.baseUrl}/credit_notes/${noteId}/pdf`,
      post_payment_amount: postPayment,
      pre_payment_amount: prePayment,
      pretax_credit_amounts: [],
      reason: reason ?? null,
      refunds: refund ? [{ amount_refunded: refundPart, payment_record_refund: null, refund: refund.id, type: 'refund' }] : [],
      shipping_cost: null,
      status: 'issued',
      subtotal: total,
      subtotal_excluding_tax: total,
      total,
      total_excluding_tax: total,
      total_taxes: [],
      type: prePayment > 0 ? 'pre_payment' : 'post_payment',
      voided_at: null,
    };
    emu.store.insert('credit_note', note);
    if (creditPart > 0) {
      const customer = emu.store.get<Stripe.Customer & Stored>('customer', customerId);
      if (customer) {
        updateWithEvent(emu, 'customer.updated', customer, (c) => {
          c.balance = (c.balance ?? 0) - creditPart;
        });
      }
    }
    emu.events.emit('credit_note.created', note);
    changeInvoice(emu, inv, () => {
      if (prePayment > 0) {
        inv.pre_payment_credit_notes_amount += prePayment;
        inv.amount_remaining -= prePayment;
        inv.amount_due -= prePayment;
      }
      if (postPayment > 0) inv.post_payment_credit_notes_amount += postPayment;
    });
    // Credited in full before payment: nothing is left to pay.
    if (prePayment > 0 && inv.amount_remaining === 0) markInvoicePaid(emu, inv, now, false);
    return note;
  });

  router.get('/v1/credit_notes/:id', ({ params: p, path }) => {
    p.done();
    return requireNote(path.id!);
  });

  router.post('/v1/credit_notes/:id', ({ params: p, path }) => {
    const memo = p.string('memo');
    const metadata = p.metadata();
    p.done();
    return updateWithEvent(emu, 'credit_note.updated', requireNote(path.id!), (n) => {
      if (memo !== undefined) n.memo = memo;
      n.metadata = mergeMetadata(n.metadata ?? {}, metadata);
    });
  });

  router.post('/v1/credit_notes/:id/void', ({ params: p, path }) => {
    p.done();
    const note = requireNote(path.id!);
    if (note.status !== 'issued') throw invalidRequest('This credit note is already voided.', undefined, 'credit_note_already_voided');
    if (note.refunds.length > 0) throw invalidRequest('A credit note that refunded a charge cannot be voided.', undefined, 'credit_note_not_voidable');
    const inv = emu.store.require<InvoiceRecord>('invoice', note.invoice as string, 'invoice');
    if (note.pre_payment_amount > 0 && inv.status !== 'open') {
      throw invalidRequest(`The invoice of this credit note is ${inv.status}: only credit notes of open invoices can be voided.`, undefined, 'credit_note_not_voidable');
    }
    note.status = 'void';
    note.voided_at = emu.nowFor(inv);
    emu.store.changed();
    emu.events.emit('credit_note.voided', note);
    changeInvoice(emu, inv, () => {
      if (note.pre_payment_amount > 0) {
        inv.pre_payment_credit_notes_amount -= note.pre_payment_amount;
        inv.amount_remaining += note.pre_payment_amount;
        inv.amount_due += note.pre_payment_amount;
      } else {
        inv.post_payment_credit_notes_amount -= note.post_payment_amount;
      }
    });
    return note;
  });

  router.get('/v1/credit_notes/:id/lines', ({ params: p, path, url }) => {
    const note = requireNote(path.id!);
    const page = paginate(note.lines.data, p, url);
    p.done();
    return page;
  });

  router.get('/v1/credit_notes', ({ params: p, url }) => {
    const invoice = p.string('invoice');
    const customer = p.string('customer');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<CreditNoteRecord>('credit_note')).filter(
      (n) => (invoice === undefined || n.invoice === invoice) && (customer === undefined || n.customer === customer) && (!created || created(n.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}
