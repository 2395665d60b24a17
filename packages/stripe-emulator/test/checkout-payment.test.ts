/** Checkout in `payment` mode (one-time prices, `price_data`, `payment_intent_data`) and `setup` mode. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;
let oneTime: Stripe.Price;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'T-shirt' });
  oneTime = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500 });
});
afterAll(() => emu.close());

function submit(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
}

const shipping = { name: 'Jenny Rosen', address: { line1: '510 Townsend St', postal_code: '94103', city: 'San Francisco', state: 'CA', country: 'US' } };

describe('checkout mode=payment', () => {
  it('pays a one-time price on the hosted page: a PaymentIntent from payment_intent_data, then checkout.session.completed', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price: oneTime.id, quantity: 2 }],
      payment_intent_data: { description: 'two shirts', metadata: { order: '42' }, shipping },
      success_url: 'https://shop.example/ok',
    });
    expect(session).toMatchObject({ mode: 'payment', status: 'open', payment_status: 'unpaid', amount_total: 3000, currency: 'usd', payment_intent: null });
    const page = await (await fetch(session.url!)).text();
    expect(page).toContain('Pay');
    expect(page).not.toContain('Subscribe');

    const before = (await allEvents(stripe)).length;
    const res = await submit(session.url!, { payment_method: 'pm_card_visa', email: 'buyer@example.com' });
    expect(res.status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid', subscription: null, customer: null, customer_details: { email: 'buyer@example.com' } });
    const pi = await stripe.paymentIntents.retrieve(done.payment_intent as string);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 3000, amount_received: 3000, description: 'two shirts', metadata: { order: '42' }, shipping: { name: 'Jenny Rosen' } });
    const types = (await allEvents(stripe)).slice(before).map((e) => e.type);
    expect(types).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'checkout.session.completed']);
  });

  it('creates inline prices and products from line_items[][price_data][product_data]', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [{ price_data: { currency: 'eur', unit_amount: 700, product_data: { name: 'Sticker', description: 'round' } }, quantity: 3 }],
      success_url: 'https://shop.example/ok',
    });
    expect(session).toMatchObject({ amount_total: 2100, currency: 'eur' });
    const items = await stripe.checkout.sessions.listLineItems(session.id, { expand: ['data.price.product'] });
    const price = items.data[0]!.price!;
    expect(price).toMatchObject({ unit_amount: 700, currency: 'eur', type: 'one_time' });
    expect(price.product).toMatchObject({ name: 'Sticker', description: 'round' });
  });

  it('a declined card leaves the session open and creates no paid PaymentIntent', async () => {
    const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: oneTime.id, quantity: 1 }], success_url: 'https://shop.example/ok' });
    const res = await submit(session.url!, { payment_method: 'pm_card_chargeDeclined' });
    expect(res.status).toBe(402);
    expect(await stripe.checkout.sessions.retrieve(session.id)).toMatchObject({ status: 'open', payment_intent: null });
  });

  it('refuses recurring prices and subscription_data in payment mode', async () => {
    const product = await stripe.products.create({ name: 'Plan' });
    const monthly = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } });
    await expect(stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: monthly.id, quantity: 1 }], success_url: 'https://shop.example/ok' })).rejects.toMatchObject({ statusCode: 400, param: 'line_items[0][price]' });
    await expect(
      stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: oneTime.id, quantity: 1 }], subscription_data: { trial_period_days: 3 }, success_url: 'https://shop.example/ok' }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'subscription_data' });
  });

  it('runs the flow stripe trigger checkout.session.completed drives (payment_pages, tok_visa PaymentMethod)', async () => {
    const session = await stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price: oneTime.id, quantity: 2 }], payment_intent_data: { shipping }, success_url: 'https://shop.example/ok' });
    await stripe.rawRequest('GET', `/v1/payment_pages/${session.id}`);
    const pm = await stripe.paymentMethods.create({ type: 'card', card: { token: 'tok_visa' }, billing_details: { email: 'stripe@example.com', name: 'Jenny Rosen' } });
    await expect(stripe.rawRequest('POST', `/v1/payment_pages/${session.id}/confirm`, { payment_method: pm.id, expected_amount: 2999 })).rejects.toMatchObject({ statusCode: 400, param: 'expected_amount' });
    await stripe.rawRequest('POST', `/v1/payment_pages/${session.id}/confirm`, { payment_method: pm.id, expected_amount: 3000 });
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', payment_status: 'paid', customer_details: { email: 'stripe@example.com', name: 'Jenny Rosen' } });
  });
});

describe('checkout mode=setup', () => {
  it('saves a card for the customer with a SetupIntent (setup_intent.succeeded, checkout.session.completed)', async () => {
    const c = await stripe.customers.create({ email: 'saver@example.com' });
    const session = await stripe.checkout.sessions.create({ mode: 'setup', customer: c.id, currency: 'usd', setup_intent_data: { metadata: { why: 'later' } }, success_url: 'https://shop.example/ok' });
    expect(session).toMatchObject({ mode: 'setup', payment_status: 'no_payment_required', amount_total: 0 });
    const before = (await allEvents(stripe)).length;
    expect((await submit(session.url!, { payment_method: 'pm_card_mastercard' })).status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect(done).toMatchObject({ status: 'complete', customer: c.id, payment_intent: null });
    const si = await stripe.setupIntents.retrieve(done.setup_intent as string);
    expect(si).toMatchObject({ status: 'succeeded', customer: c.id, metadata: { why: 'later' } });
    expect((await stripe.customers.listPaymentMethods(c.id)).data.map((p) => p.id)).toEqual([si.payment_method]);
    const types = (await allEvents(stripe)).slice(before).map((e) => e.type);
    expect(types).toEqual(['setup_intent.created', 'payment_method.attached', 'setup_intent.succeeded', 'checkout.session.completed']);
  });

  it('refuses line_items in setup mode', async () => {
    await expect(stripe.checkout.sessions.create({ mode: 'setup', currency: 'usd', line_items: [{ price: oneTime.id, quantity: 1 }], success_url: 'https://shop.example/ok' })).rejects.toMatchObject({ param: 'line_items' });
  });
});
