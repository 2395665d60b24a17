import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents } from './billing-support.js';
import { emulatorWithClient, refusal } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

describe('invoices/:id/send', () => {
  it('finalizes a draft, then announces invoice.sent (test mode sends no e-mail)', async () => {
    const customer = await stripe.customers.create({ email: 'send@example.com' });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 2500, currency: 'usd' });
    const draft = await stripe.invoices.create({ customer: customer.id, collection_method: 'send_invoice', days_until_due: 30, pending_invoice_items_behavior: 'include' });
    const sent = await stripe.invoices.sendInvoice(draft.id);
    expect(sent).toMatchObject({ id: draft.id, status: 'open', amount_due: 2500 });
    const types = (await allEvents(stripe)).filter((e) => (e.data.object as { id?: string }).id === draft.id).map((e) => e.type);
    expect(types).toEqual(['invoice.created', 'invoice.finalized', 'invoice.sent']);
    // Sending again is allowed (a reminder) and announced again.
    await stripe.invoices.sendInvoice(draft.id);
    expect((await stripe.events.list({ type: 'invoice.sent', limit: 100 })).data.filter((e) => (e.data.object as Stripe.Invoice).id === draft.id)).toHaveLength(2);
  });

  it('refuses a void invoice', async () => {
    const customer = await stripe.customers.create();
    const inv = await stripe.invoices.create({ customer: customer.id });
    await stripe.invoiceItems.create({ customer: customer.id, invoice: inv.id, amount: 100, currency: 'usd' });
    await stripe.invoices.finalizeInvoice(inv.id);
    await stripe.invoices.voidInvoice(inv.id);
    expect(await refusal(stripe.invoices.sendInvoice(inv.id))).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400 });
  });
});
