/**
 * Cards from tokens: PaymentMethods from `card[token]=tok_visa`, customer sources (the legacy
 * Sources API), and test-card behaviour that never shows on the objects.
 */
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

describe('PaymentMethods from tokens', () => {
  it('creates a card PaymentMethod from tok_visa with billing details, no internal metadata', async () => {
    const pm = await stripe.paymentMethods.create({
      type: 'card',
      card: { token: 'tok_visa' },
      billing_details: { email: 'stripe@example.com', name: 'Jenny Rosen', address: { line1: '354 Oyster Point Blvd', postal_code: '94080', city: 'South San Francisco', state: 'CA', country: 'US' } },
    });
    expect(pm).toMatchObject({ object: 'payment_method', type: 'card', customer: null, metadata: {}, card: { brand: 'visa', last4: '4242' }, billing_details: { name: 'Jenny Rosen', address: { city: 'South San Francisco' } } });
    const attached = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: (await stripe.customers.create({})).id });
    expect(attached.metadata).toEqual({});
  });

  it('a token keeps its card behaviour: tok_chargeCustomerFail attaches, then its charge fails; tok_chargeDeclined is declined at attach', async () => {
    const c = await stripe.customers.create({});
    const failing = await stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_chargeCustomerFail' } });
    await stripe.paymentMethods.attach(failing.id, { customer: c.id });
    await expect(stripe.paymentIntents.create({ amount: 500, currency: 'usd', customer: c.id, payment_method: failing.id, confirm: true })).rejects.toMatchObject({ code: 'card_declined' });
    const declined = await stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_chargeDeclined' } });
    await expect(stripe.paymentMethods.attach(declined.id, { customer: c.id })).rejects.toMatchObject({ statusCode: 402, code: 'card_declined' });
  });

  it('refuses an unknown token and card numbers with a clear error', async () => {
    await expect(stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_nope' } })).rejects.toMatchObject({ statusCode: 400, param: 'card[token]' });
    await expect(stripe.paymentMethods.create({ type: 'card' })).rejects.toMatchObject({ statusCode: 400, param: 'card[token]' });
  });
});

describe('customer sources', () => {
  it('adds a card from tok_visa (customer.source.created), updates it (customer.source.updated), deletes it', async () => {
    const c = await stripe.customers.create({ description: 'sources' });
    const card = (await stripe.customers.createSource(c.id, { source: 'tok_visa' })) as Stripe.Card;
    expect(card).toMatchObject({ object: 'card', customer: c.id, brand: 'Visa', last4: '4242', funding: 'credit', metadata: {} });
    expect(card.id).toMatch(/^card_/);
    expect((await stripe.customers.retrieve(c.id)) as Stripe.Customer).toMatchObject({ default_source: card.id });
    expect((await stripe.customers.listSources(c.id)).data.map((s) => s.id)).toEqual([card.id]);

    const updated = (await stripe.customers.updateSource(c.id, card.id, { metadata: { foo: 'bar' } })) as Stripe.Card;
    expect(updated.metadata).toEqual({ foo: 'bar' });
    const types = (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === card.id).map((e) => e.type);
    expect(types).toEqual(['customer.source.created', 'customer.source.updated']);
    const e = (await stripe.events.list({ type: 'customer.source.updated', limit: 1 })).data[0]!;
    expect(e.data.previous_attributes).toEqual({ metadata: {} });

    const deleted = await stripe.customers.deleteSource(c.id, card.id);
    expect(deleted).toMatchObject({ id: card.id, deleted: true });
    expect((await stripe.customers.retrieve(c.id)) as Stripe.Customer).toMatchObject({ default_source: null });
    await expect(stripe.customers.retrieveSource(c.id, card.id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a customer created with source=tok_visa is charged through it for its invoices', async () => {
    const c = await stripe.customers.create({ source: 'tok_visa' });
    expect(c.default_source).toMatch(/^card_/);
    await stripe.invoiceItems.create({ customer: c.id, amount: 700, currency: 'usd' });
    const inv = await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include' });
    expect(await stripe.invoices.pay(inv.id)).toMatchObject({ status: 'paid', amount_paid: 700 });
    const charge = (await stripe.charges.list({ customer: c.id })).data[0]!;
    expect(charge).toMatchObject({ payment_method: c.default_source, paid: true });
  });

  it('tok_chargeDeclined is declined as a source and leaves no customer', async () => {
    const before = (await stripe.customers.list({ limit: 100 })).data.length;
    await expect(stripe.customers.create({ source: 'tok_chargeDeclined' })).rejects.toMatchObject({ statusCode: 402, code: 'card_declined' });
    expect((await stripe.customers.list({ limit: 100 })).data.length).toBe(before);
  });
});
