import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/index.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  stripe = new Stripe('sk_test_checkout', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const product = await stripe.products.create({ name: 'Pro <plan> & more' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1999, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

function newSession(extra: Partial<Stripe.Checkout.SessionCreateParams> = {}): Promise<Stripe.Checkout.Session> {
  return stripe.checkout.sessions.create({
    mode: 'subscription',
    line_items: [{ price: price.id, quantity: 1 }],
    success_url: 'https://app.example/done?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://app.example/pricing',
    ...extra,
  });
}

function submit(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
}

async function completedEventsFor(sessionId: string): Promise<Stripe.Event[]> {
  const events = await stripe.events.list({ type: 'checkout.session.completed', limit: 100 });
  return events.data.filter((e) => (e.data.object as Stripe.Checkout.Session).id === sessionId);
}

describe('checkout sessions', () => {
  it('creates an open session shaped like Stripe’s', async () => {
    const session = await newSession({ customer_email: 'shape@example.com', client_reference_id: 'user_1', metadata: { plan: 'pro' } });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      payment_status: 'unpaid',
      amount_subtotal: 1999,
      amount_total: 1999,
      currency: 'usd',
      customer: null,
      customer_email: 'shape@example.com',
      client_reference_id: 'user_1',
      metadata: { plan: 'pro' },
      subscription: null,
      url: `${emu.url}/checkout/${session.id}`,
    });
    expect(session.expires_at - session.created).toBe(24 * 3600);
    expect(session.line_items).toBeUndefined();
    const items = await stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data).toHaveLength(1);
    expect(items.data[0]).toMatchObject({ object: 'item', amount_total: 1999, quantity: 1, currency: 'usd', description: 'Pro <plan> & more' });
    expect(items.data[0]!.price!.id).toBe(price.id);
    const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items'] });
    expect(expanded.line_items?.data.map((li) => li.price?.id)).toEqual([price.id]);
  });

  it('serves a page with the plan and total, and paying there completes it and redirects', async () => {
    const session = await newSession({ customer_email: 'buyer@example.com' });
    const pageRes = await fetch(session.url!);
    expect(pageRes.status).toBe(200);
    expect(pageRes.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await pageRes.text();
    expect(body).toContain('$19.99');
    expect(body).toContain('Pro &lt;plan&gt; &amp; more');
    expect(body).not.toContain('<plan>');
    expect(body).toContain('value="pm_card_visa"');
    expect(body).toContain('value="pm_card_chargeDeclined"');
    expect(body).not.toMatch(/<script|<link|src="http/);

    const res = await submit(session.url!, { payment_method: 'pm_card_visa' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`https://app.example/done?session=${session.id}`);

    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['subscription', 'customer'] });
    expect(done.status).toBe('complete');
    expect(done.payment_status).toBe('paid');
    expect(done.url).toBeNull();
    const customer = done.customer as Stripe.Customer;
    expect(customer.email).toBe('buyer@example.com');
    expect(customer.invoice_settings.default_payment_method).toMatch(/^pm_/);
    const sub = done.subscription as Stripe.Subscription;
    expect(sub.status).toBe('active');
    expect(sub.customer).toBe(customer.id);
    expect(sub.items.data.map((i) => i.price.id)).toEqual([price.id]);

    const events = await completedEventsFor(session.id);
    expect(events).toHaveLength(1);
    const payload = events[0]!.data.object as Stripe.Checkout.Session;
    expect(payload.subscription).toBe(sub.id);
    expect(payload.customer).toBe(customer.id);
    expect(payload.status).toBe('complete');

    expect((await stripe.checkout.sessions.list({ subscription: sub.id })).data.map((s) => s.id)).toEqual([session.id]);
    expect((await stripe.checkout.sessions.list({ customer: customer.id, status: 'complete' })).data.map((s) => s.id)).toEqual([session.id]);

    // A second submit buys nothing more.
    const again = await submit(session.url!, { payment_method: 'pm_card_visa' });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(`https://app.example/done?session=${session.id}`);
    expect(await (await fetch(`${emu.url}/checkout/${session.id}`)).text()).toContain('Thanks for subscribing');
    expect(await completedEventsFor(session.id)).toHaveLength(1);
  });

  it('a declined card re-renders the page with the error and completes nothing', async () => {
    const session = await newSession({ customer_email: 'declined@example.com' });
    const res = await submit(session.url!, { payment_method: 'pm_card_chargeDeclined' });
    expect(res.status).toBe(402);
    expect(await res.text()).toContain('Your card was declined.');
    const after = await stripe.checkout.sessions.retrieve(session.id);
    expect(after).toMatchObject({ status: 'open', payment_status: 'unpaid', customer: null, subscription: null });
    expect((await stripe.customers.list({ email: 'declined@example.com' })).data).toHaveLength(0);
    expect(await completedEventsFor(session.id)).toHaveLength(0);
  });

  it('puts subscription_data (trial, metadata) on the subscription of an existing customer', async () => {
    const customer = await stripe.customers.create({ email: 'trial@example.com' });
    const session = await newSession({ customer: customer.id, subscription_data: { trial_period_days: 14, metadata: { source: 'checkout' } } });
    expect(session.amount_total).toBe(0);
    const page = await (await fetch(session.url!)).text();
    expect(page).toContain('14-day free trial');
    expect((await submit(session.url!, { payment_method: 'pm_card_visa' })).status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id);
    expect(done.customer).toBe(customer.id);
    expect(done.payment_status).toBe('no_payment_required');
    const sub = await stripe.subscriptions.retrieve(done.subscription as string);
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end! - sub.trial_start!).toBe(14 * 24 * 3600);
    expect(sub.metadata).toEqual({ source: 'checkout' });
  });

  it('takes a promotion code on the page when allow_promotion_codes is set, and charges the discounted total', async () => {
    const coupon = await stripe.coupons.create({ percent_off: 25, duration: 'once' });
    await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SAVE25' });
    const session = await newSession({ customer_email: 'promo@example.com', allow_promotion_codes: true });
    expect(await (await fetch(session.url!)).text()).toContain('name="promotion_code"');

    const bad = await submit(session.url!, { promotion_code: 'NOPE' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('This code is invalid.');

    const applied = await submit(session.url!, { promotion_code: 'save25' });
    expect(applied.status).toBe(303);
    const priced = await stripe.checkout.sessions.retrieve(session.id);
    expect(priced.amount_subtotal).toBe(1999);
    expect(priced.total_details?.amount_discount).toBe(500); // 25% of 19.99 = 4.9975 → 5.00
    expect(priced.amount_total).toBe(1499);
    expect(await (await fetch(session.url!)).text()).toContain('$14.99');

    expect((await submit(session.url!, { payment_method: 'pm_card_visa' })).status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['invoice'] });
    expect((done.invoice as Stripe.Invoice).total).toBe(1499);
    expect((done.invoice as Stripe.Invoice).status).toBe('paid');
  });

  it('collects the email on the page when the session has no customer or email', async () => {
    const session = await newSession();
    expect(await (await fetch(session.url!)).text()).toContain('name="email"');
    expect((await submit(session.url!, { payment_method: 'pm_card_visa', email: 'typed@example.com' })).status).toBe(303);
    const done = await stripe.checkout.sessions.retrieve(session.id, { expand: ['customer'] });
    expect((done.customer as Stripe.Customer).email).toBe('typed@example.com');
    expect(done.customer_details?.email).toBe('typed@example.com');
  });

  it('expires on the customer’s test clock once expires_at passes', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: t0 });
    const customer = await stripe.customers.create({ email: 'clock@example.com', test_clock: clock.id });
    const session = await newSession({ customer: customer.id, expires_at: t0 + 3600 });
    await advanceClock(stripe, clock.id, t0 + 3599);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    await advanceClock(stripe, clock.id, t0 + 3600);
    const expiredEvents = await stripe.events.list({ type: 'checkout.session.expired' });
    expect(expiredEvents.data.some((e) => (e.data.object as Stripe.Checkout.Session).id === session.id)).toBe(true);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    const res = await submit(`${emu.url}/checkout/${session.id}`, { payment_method: 'pm_card_visa' });
    expect(res.status).toBe(400);
  });

  it('expires a session', async () => {
    const session = await newSession();
    const expired = await stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    await expect(stripe.checkout.sessions.expire(session.id)).rejects.toMatchObject({ statusCode: 400 });
    expect(await (await fetch(`${emu.url}/checkout/${session.id}`)).text()).toContain('expired');
    const res = await submit(`${emu.url}/checkout/${session.id}`, { payment_method: 'pm_card_visa' });
    expect(res.status).toBe(400);
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('expired');
    const events = await stripe.events.list({ type: 'checkout.session.expired' });
    expect(events.data.some((e) => (e.data.object as Stripe.Checkout.Session).id === session.id)).toBe(true);
    expect((await stripe.checkout.sessions.list({ status: 'expired' })).data.map((s) => s.id)).toContain(session.id);
  });

  it('completes through the test helper (emulator extension)', async () => {
    const declined = await newSession({ customer_email: 'helper@example.com' });
    await expect(
      stripe.rawRequest('POST', `/v1/test_helpers/checkout/sessions/${declined.id}/complete`, { payment_method: 'pm_card_chargeDeclined' }),
    ).rejects.toMatchObject({ type: 'StripeCardError', statusCode: 402 });
    expect((await stripe.checkout.sessions.retrieve(declined.id)).status).toBe('open');

    const done = (await stripe.rawRequest('POST', `/v1/test_helpers/checkout/sessions/${declined.id}/complete`, {
      payment_method: 'pm_card_visa',
    })) as Stripe.Checkout.Session;
    expect(done).toMatchObject({ id: declined.id, status: 'complete', payment_status: 'paid' });
    expect(done.subscription).toMatch(/^sub_/);
    expect(await completedEventsFor(declined.id)).toHaveLength(1);
  });

  it('rejects bad input with Stripe errors naming the param', async () => {
    await expect(stripe.checkout.sessions.create({ line_items: [{ price: price.id, quantity: 1 }] })).rejects.toMatchObject({ param: 'mode' });
    await expect(stripe.checkout.sessions.create({ mode: 'subscription' })).rejects.toMatchObject({ param: 'line_items' });
    await expect(
      stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_nope', quantity: 1 }] }),
    ).rejects.toMatchObject({ statusCode: 404, param: 'line_items[0][price]' });
    await expect(newSession({ customer: 'cus_nope' })).rejects.toMatchObject({ statusCode: 404, param: 'customer' });
    await expect(newSession({ customer_email: 'a@example.com', bogus: 1 } as never)).rejects.toMatchObject({ code: 'parameter_unknown', param: 'bogus' });
    await expect(newSession({ expires_at: Math.floor(Date.now() / 1000) + 60 })).rejects.toMatchObject({ param: 'expires_at' });
    await expect(newSession({ success_url: 'javascript:alert(1)' })).rejects.toMatchObject({ param: 'success_url' });
    await expect(newSession({ cancel_url: 'https://a.example/\r\nSet-Cookie: x=1' })).rejects.toMatchObject({ param: 'cancel_url' });
    await expect(stripe.checkout.sessions.retrieve('cs_test_nope')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect((await fetch(`${emu.url}/checkout/cs_test_nope`)).status).toBe(404);
  });
});
