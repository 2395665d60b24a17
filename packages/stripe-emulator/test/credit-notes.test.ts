/** Credit notes on open invoices (before payment) and paid ones (refund or customer balance). */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

async function openInvoice(amount: number, card?: string): Promise<Stripe.Invoice> {
  const c = await stripe.customers.create({ description: 'credit notes' });
  if (card) {
    const pm = await stripe.paymentMethods.attach(card, { customer: c.id });
    await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm.id } });
  }
  await stripe.invoiceItems.create({ customer: c.id, amount, currency: 'usd', description: 'work' });
  const inv = await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include' });
  return stripe.invoices.finalizeInvoice(inv.id);
}

async function typesAbout(id: string): Promise<string[]> {
  return (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === id).map((e) => e.type);
}

describe('credit notes', () => {
  it('on an open invoice: lowers what is left to pay (credit_note.created, invoice.updated); update and void', async () => {
    const inv = await openInvoice(2000);
    const note = await stripe.creditNotes.create({ invoice: inv.id, lines: [{ type: 'custom_line_item', unit_amount: 1000, quantity: 1, description: 'goodwill' }] });
    expect(note).toMatchObject({ object: 'credit_note', status: 'issued', type: 'pre_payment', total: 1000, pre_payment_amount: 1000, post_payment_amount: 0, invoice: inv.id, currency: 'usd' });
    expect(note.lines.data[0]).toMatchObject({ type: 'custom_line_item', amount: 1000, description: 'goodwill' });
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ status: 'open', amount_remaining: 1000, pre_payment_credit_notes_amount: 1000 });
    expect(await typesAbout(note.id)).toEqual(['credit_note.created']);

    const updated = await stripe.creditNotes.update(note.id, { metadata: { foo: 'bar' }, memo: 'sorry' });
    expect(updated).toMatchObject({ memo: 'sorry', metadata: { foo: 'bar' } });
    const voided = await stripe.creditNotes.voidCreditNote(note.id);
    expect(voided).toMatchObject({ status: 'void' });
    expect(voided.voided_at).toEqual(expect.any(Number));
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ amount_remaining: 2000, pre_payment_credit_notes_amount: 0 });
    expect(await typesAbout(note.id)).toEqual(['credit_note.created', 'credit_note.updated', 'credit_note.voided']);
    expect((await stripe.creditNotes.list({ invoice: inv.id })).data.map((n) => n.id)).toEqual([note.id]);
    await expect(stripe.creditNotes.voidCreditNote(note.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('crediting an open invoice in full pays it', async () => {
    const inv = await openInvoice(500);
    await stripe.creditNotes.create({ invoice: inv.id, amount: 500 });
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ status: 'paid', amount_remaining: 0 });
  });

  it('on a paid invoice: refunds the charge (refund.created, charge.refunded) or credits the customer balance', async () => {
    const inv = await openInvoice(3000, 'pm_card_visa');
    const paid = await stripe.invoices.pay(inv.id);
    expect(paid.status).toBe('paid');
    const refunded = await stripe.creditNotes.create({ invoice: inv.id, amount: 1000, refund_amount: 1000, reason: 'order_change' });
    expect(refunded).toMatchObject({ type: 'post_payment', post_payment_amount: 1000, reason: 'order_change' });
    const refund = await stripe.refunds.retrieve(refunded.refunds[0]!.refund as string);
    expect(refund).toMatchObject({ amount: 1000, status: 'succeeded' });
    expect(await stripe.charges.retrieve(refund.charge as string)).toMatchObject({ amount_refunded: 1000, refunded: false });

    const credited = await stripe.creditNotes.create({ invoice: inv.id, amount: 500 });
    expect(credited).toMatchObject({ post_payment_amount: 500 });
    expect(((await stripe.customers.retrieve(inv.customer as string)) as Stripe.Customer).balance).toBe(-500);
    await expect(stripe.creditNotes.create({ invoice: inv.id, amount: 2000 })).rejects.toMatchObject({ statusCode: 400, param: 'amount' });
  });

  it('refuses drafts and bad lines with the param named', async () => {
    const c = await stripe.customers.create({});
    const draft = await stripe.invoices.create({ customer: c.id });
    await expect(stripe.creditNotes.create({ invoice: draft.id, amount: 1 })).rejects.toMatchObject({ param: 'invoice' });
    const inv = await openInvoice(100);
    await expect(stripe.creditNotes.create({ invoice: inv.id, lines: [{ type: 'custom_line_item', quantity: 1, description: 'x' }] })).rejects.toMatchObject({ param: 'lines[0][unit_amount]' });
  });
});
