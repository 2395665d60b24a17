import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents } from './billing-support.js';
import { missingRequired, StripeTypes } from './required-fields.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

describe('customer sources (legacy cards from tok_*)', () => {
  it('creates, lists, retrieves, updates and deletes a card source, with customer.source.* events', async () => {
    const customer = await stripe.customers.create({ description: 'sources' });
    const card = (await stripe.customers.createSource(customer.id, { source: 'tok_visa' })) as Stripe.Card;
    expect(card).toMatchObject({ object: 'card', brand: 'Visa', last4: '4242', customer: customer.id });
    expect(card.id).toMatch(/^card_/);
    expect([...missingRequired(new StripeTypes(), card)]).toEqual([]);
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).default_source).toBe(card.id);
    expect((await stripe.customers.listSources(customer.id, { object: 'card' })).data.map((c) => c.id)).toEqual([card.id]);
    const updated = (await stripe.customers.updateSource(customer.id, card.id, { metadata: { foo: 'bar' } })) as Stripe.Card;
    expect(updated.metadata).toEqual({ foo: 'bar' });
    expect(((await stripe.customers.retrieveSource(customer.id, card.id)) as Stripe.Card).metadata).toEqual({ foo: 'bar' });
    const events = (await allEvents(stripe)).filter((e) => e.type.startsWith('customer.source.') && (e.data.object as { id: string }).id === card.id);
    expect(events.map((e) => e.type).sort()).toEqual(['customer.source.created', 'customer.source.updated']);
    const deleted = await stripe.customers.deleteSource(customer.id, card.id);
    expect(deleted).toMatchObject({ id: card.id, deleted: true });
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).default_source).toBeNull();
    await expect(stripe.customers.retrieveSource(customer.id, card.id)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('customers.create({ source }) sets default_source, and a subscription charges that card', async () => {
    const customer = await stripe.customers.create({ source: 'tok_visa' });
    expect(customer.default_source).toMatch(/^card_/);
    const product = await stripe.products.create({ name: 'Source' });
    const price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], expand: ['latest_invoice'] });
    expect(sub.status).toBe('active');
    expect((sub.latest_invoice as Stripe.Invoice).status).toBe('paid');
  });

  it('customers.update({ source }) makes the new card the default source', async () => {
    const customer = await stripe.customers.create({ source: 'tok_visa' });
    const updated = await stripe.customers.update(customer.id, { source: 'tok_mastercard' });
    expect(updated.default_source).not.toBe(customer.default_source);
    const card = (await stripe.customers.retrieveSource(customer.id, updated.default_source as string)) as Stripe.Card;
    expect(card.brand).toBe('MasterCard');
  });
});
