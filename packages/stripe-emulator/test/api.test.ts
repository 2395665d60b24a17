import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { control, emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

describe('lists', () => {
  it('auto-paginates over 250 customers, newest first, and pages back with ending_before', async () => {
    const created: string[] = [];
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, (_, j) => stripe.customers.create({ email: 'page@example.com', metadata: { n: String(i + j) } })));
      created.push(...batch.map((c) => c.id));
    }
    const seen: string[] = [];
    for await (const c of stripe.customers.list({ email: 'page@example.com', limit: 30 })) seen.push(c.id);
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(new Set(created));
    // Newest first: the order of insertion, reversed.
    const byInsertion = (await stripe.customers.list({ email: 'page@example.com', limit: 100 }).autoPagingToArray({ limit: 1000 })).map((c) => c.id);
    expect(byInsertion).toEqual(seen);

    const page1 = await stripe.customers.list({ email: 'page@example.com', limit: 10 });
    const page2 = await stripe.customers.list({ email: 'page@example.com', limit: 10, starting_after: page1.data.at(-1)!.id });
    expect(page2.has_more).toBe(true);
    const back = await stripe.customers.list({ email: 'page@example.com', limit: 10, ending_before: page2.data[0]!.id });
    expect(back.data.map((c) => c.id)).toEqual(page1.data.map((c) => c.id));
    expect(back.has_more).toBe(false);
    // Backward auto-pagination from the last page reaches the first item.
    const tail = seen.at(-1)!;
    const backwards = await stripe.customers.list({ email: 'page@example.com', limit: 50, ending_before: tail }).autoPagingToArray({ limit: 1000 });
    expect(backwards).toHaveLength(249);
  });

  it('expands ids, nested paths and data.* on lists', async () => {
    const product = await stripe.products.create({ name: 'Expand me' });
    const price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } });
    expect(((await stripe.prices.retrieve(price.id, { expand: ['product'] })).product as Stripe.Product).name).toBe('Expand me');
    const list = await stripe.prices.list({ product: product.id, expand: ['data.product'] });
    expect((list.data[0]!.product as Stripe.Product).id).toBe(product.id);
    const coupon = await stripe.coupons.create({ percent_off: 10 });
    const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'EXPAND10' });
    const expanded = await stripe.promotionCodes.retrieve(promo.id, { expand: ['promotion.coupon'] });
    expect((expanded.promotion.coupon as Stripe.Coupon).percent_off).toBe(10);
    await expect(stripe.prices.retrieve(price.id, { expand: ['currency'] })).rejects.toMatchObject({ param: 'expand' });
  });
});

describe('idempotency', () => {
  it('replays with Idempotent-Replayed and refuses a key reused with other params', async () => {
    const a = await stripe.products.create({ name: 'Idem' }, { idempotencyKey: 'idem-1' });
    const b = await stripe.products.create({ name: 'Idem' }, { idempotencyKey: 'idem-1' });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(a.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    await expect(stripe.products.create({ name: 'Other' }, { idempotencyKey: 'idem-1' })).rejects.toMatchObject({
      type: 'StripeIdempotencyError',
      statusCode: 400,
    });
    expect((await stripe.products.list({ limit: 100 })).data.filter((p) => p.name === 'Idem')).toHaveLength(1);
  });
});

describe('errors', () => {
  it('unknown parameter, wrong type, missing field, unknown id: Stripe shape with param', async () => {
    await expect(stripe.products.create({ name: 'x', colour: 'red' } as never)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'colour',
    });
    await expect(stripe.prices.create({ product: 'prod_x', currency: 'usd', unit_amount: 'ten' as never })).rejects.toMatchObject({
      statusCode: 400,
      param: 'unit_amount',
    });
    await expect(stripe.products.create({} as never)).rejects.toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'name' });
    await expect(stripe.prices.create({ product: 'prod_missing', currency: 'usd', unit_amount: 1 })).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'product',
    });
    await expect(stripe.coupons.retrieve('nope')).rejects.toMatchObject({ statusCode: 404, param: 'id' });
    await expect(stripe.customers.update('cus_x', { metadata: 'nope' as never })).rejects.toMatchObject({ statusCode: 404 });
    const c = await stripe.customers.create();
    await expect(stripe.customers.update(c.id, { metadata: 'nope' as never })).rejects.toMatchObject({ statusCode: 400, param: 'metadata' });
    await expect(stripe.customers.list({ limit: 1000 })).rejects.toMatchObject({ statusCode: 400, param: 'limit' });
    await expect(stripe.customers.list({ created: { gte: 'yesterday' as never } })).rejects.toMatchObject({ statusCode: 400, param: 'created[gte]' });
  });

  it('401 without a valid key, 402 for a declined card, 404 for an unknown route', async () => {
    const bad = new Stripe('pk_test_nope', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
    await expect(bad.customers.list()).rejects.toMatchObject({ statusCode: 401, type: 'StripeAuthenticationError' });
    await expect(stripe.customers.create({ payment_method: 'pm_card_chargeDeclined' })).rejects.toMatchObject({
      statusCode: 402,
      type: 'StripeCardError',
      decline_code: 'generic_decline',
    });
    const res = await fetch(`${emu.url}/v1/nothing_here`, { headers: { Authorization: 'Bearer sk_test_x' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('malformed bodies get a 400, never a 500 or a stack', async () => {
    const post = (body: string, type = 'application/x-www-form-urlencoded') =>
      fetch(`${emu.url}/v1/customers`, { method: 'POST', headers: { Authorization: 'Bearer sk_test_x', 'Content-Type': type }, body });
    for (const [body, type] of [
      ['metadata[a][b]=1', undefined],
      ['email[]=a&email[]=b', undefined],
      ['invoice_settings=abc', undefined],
      ['{not json', 'application/json'],
      ['%E0%A4%A', undefined],
    ] as const) {
      const res = await post(body, type);
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as { error: { type: string; message: string } };
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message).not.toMatch(/at .*\.ts/);
    }
  });
});

describe('events', () => {
  it('lists by type, types[], wildcard and created; retrieves by id', async () => {
    const c = await stripe.customers.create({ email: 'ev@example.com' });
    await stripe.customers.update(c.id, { name: 'Ev' });
    const created = await stripe.events.list({ type: 'customer.created', limit: 100 });
    const mine = created.data.find((e) => (e.data.object as Stripe.Customer).id === c.id)!;
    expect(mine).toMatchObject({ object: 'event', type: 'customer.created', livemode: false, api_version: expect.any(String) });
    expect((await stripe.events.retrieve(mine.id)).id).toBe(mine.id);
    const both = await stripe.events.list({ types: ['customer.created', 'customer.updated'], limit: 3 });
    expect(both.data[0]!.type).toBe('customer.updated');
    expect(both.data[1]!.type).toBe('customer.created');
    const wildcard = await stripe.events.list({ type: 'customer.*', limit: 2 });
    expect(wildcard.data.map((e) => e.type)).toEqual(['customer.updated', 'customer.created']);
    expect((await stripe.events.list({ created: { gt: mine.created + 3600 } })).data).toHaveLength(0);
    await expect(stripe.events.retrieve('evt_nope')).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('coupons and promotion codes', () => {
  it('coupons: percent / amount off, durations, validation', async () => {
    const pct = await stripe.coupons.create({ percent_off: 12.5, duration: 'repeating', duration_in_months: 3, id: 'TWELVE' });
    expect(pct).toMatchObject({ id: 'TWELVE', percent_off: 12.5, duration: 'repeating', duration_in_months: 3, valid: true, times_redeemed: 0, amount_off: null });
    const amt = await stripe.coupons.create({ amount_off: 500, currency: 'USD', duration: 'forever', max_redemptions: 2, name: 'Five' });
    expect(amt).toMatchObject({ amount_off: 500, currency: 'usd', max_redemptions: 2, name: 'Five', percent_off: null });
    await expect(stripe.coupons.create({ amount_off: 5 })).rejects.toMatchObject({ param: 'currency' });
    await expect(stripe.coupons.create({ duration: 'once' })).rejects.toMatchObject({ param: 'percent_off' });
    await expect(stripe.coupons.create({ percent_off: 10, duration: 'repeating' })).rejects.toMatchObject({ param: 'duration_in_months' });
    await expect(stripe.coupons.create({ percent_off: 101 })).rejects.toMatchObject({ param: 'percent_off' });
    await expect(stripe.coupons.create({ percent_off: 5, id: 'TWELVE' })).rejects.toMatchObject({ param: 'id' });
    expect((await stripe.coupons.update('TWELVE', { name: 'Twelve and a half' })).name).toBe('Twelve and a half');
    expect((await stripe.coupons.list({ limit: 100 })).data.map((c) => c.id)).toEqual(expect.arrayContaining(['TWELVE', amt.id]));
    expect(await stripe.coupons.del(amt.id)).toMatchObject({ deleted: true });
  });

  it('promotion codes: create, unique active code, list by code / active, update', async () => {
    const coupon = await stripe.coupons.create({ percent_off: 20, duration: 'once' });
    const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'SPRING20', max_redemptions: 5 });
    expect(promo).toMatchObject({ object: 'promotion_code', code: 'SPRING20', active: true, promotion: { type: 'coupon', coupon: coupon.id }, times_redeemed: 0 });
    await expect(stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'spring20' })).rejects.toMatchObject({ param: 'code' });
    await expect(stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: 'missing' } })).rejects.toMatchObject({
      statusCode: 404,
      param: 'promotion[coupon]',
    });
    expect((await stripe.promotionCodes.list({ code: 'SPRING20' })).data.map((p) => p.id)).toEqual([promo.id]);
    const off = await stripe.promotionCodes.update(promo.id, { active: false });
    expect(off.active).toBe(false);
    expect((await stripe.promotionCodes.list({ code: 'SPRING20', active: true })).data).toHaveLength(0);
    const generated = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id } });
    expect(generated.code).toMatch(/^[A-Z0-9]+$/);
  });
});

describe('fault injection', () => {
  it('a 429 fault is retried by the SDK; without retries it surfaces', async () => {
    await control(emu, 'faults', { status: 429, count: 2 });
    const retrying = new Stripe('sk_test_retry', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 3 });
    const c = await retrying.customers.create({ email: 'retry@example.com' });
    expect(c.id).toMatch(/^cus_/);
    expect((await stripe.customers.list({ email: 'retry@example.com' })).data).toHaveLength(1);

    await control(emu, 'faults', { status: 500, count: 1 });
    await expect(stripe.customers.list()).rejects.toMatchObject({ statusCode: 500, type: 'StripeAPIError' });
    expect((await stripe.customers.list({ limit: 1 })).data).toHaveLength(1);
    await control(emu, 'faults', { status: 429, count: 1 });
    await expect(stripe.customers.list()).rejects.toMatchObject({ statusCode: 429, type: 'StripeRateLimitError' });
  });

  it('a 429 fault limited to a path carries Retry-After when asked', async () => {
    await control(emu, 'faults', { status: 429, count: 1, pathPrefix: '/v1/billing/meter_events', retryAfter: 3 });
    expect((await stripe.customers.list({ limit: 1 })).object).toBe('list');
    const err = await stripe.billing.meterEvents.create({ event_name: 'x', payload: { stripe_customer_id: 'cus_x', value: '1' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 429, type: 'StripeRateLimitError', code: 'rate_limit' });
    expect((err as Stripe.errors.StripeError).headers?.['retry-after']).toBe('3');
    await expect(control(emu, 'faults', { status: 429, retryAfter: -1 })).rejects.toThrow();
  });

  it('refuses a body it would not act on with a 400 saying why, and keeps the faults in force', async () => {
    const refused = async (body: unknown) => {
      const err = (await control(emu, 'faults', body).catch((e: unknown) => e)) as { status: number; body: { error: { message: string; param?: string } } };
      expect(err.status).toBe(400);
      return err.body.error;
    };
    await control(emu, 'faults', { status: 500, count: 1, pathPrefix: '/v1/products' });
    expect(await refused({ rate: 0.1 })).toEqual({ type: 'invalid_request_error', param: 'status', message: 'status is required (429, 500 or 503); send {} to clear all faults' });
    expect((await refused({ status: 503 })).message).toBe('count (the next N requests) or rate (a share of requests, 0-1) is required');
    expect((await refused({ status: 503, count: 1, rate: 0.5 })).message).toBe('give count or rate, not both');
    expect((await refused({ status: 500, count: 1, retryAfter: 2 })).message).toBe('retryAfter applies to status 429 only');
    expect((await refused({ status: 404, count: 1 })).message).toBe('status must be 429, 500 or 503');
    expect((await refused({ status: 503, rate: 2 })).message).toBe('rate must be between 0 and 1');
    expect((await refused({ status: 503, rate: 'often' })).message).toBe('rate must be between 0 and 1');
    expect((await refused({ status: 503, count: 1.5 })).message).toBe('count must be a non-negative integer');
    expect(await refused({ status: 503, count: 1, path: '/v1' })).toMatchObject({ param: 'path', code: 'parameter_unknown' });
    // Nothing refused replaced the fault set first: it still fires once.
    await expect(stripe.products.list()).rejects.toMatchObject({ statusCode: 500 });
    expect((await stripe.products.list()).object).toBe('list');

    // What it acts on: a rate (form bodies too), and {} clears.
    expect(await control(emu, 'faults', { status: 503, rate: 0.1 })).toEqual({ faults: { status: 503, rate: 0.1 } });
    const form = await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: new URLSearchParams({ status: '429', count: '2', retryAfter: '1' }) });
    expect(await form.json()).toEqual({ faults: { status: 429, count: 2, retryAfter: 1 } });
    expect(await control(emu, 'faults', {})).toEqual({ faults: null });
  });
});
