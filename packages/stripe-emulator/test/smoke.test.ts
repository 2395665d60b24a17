import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/index.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  stripe = new Stripe('sk_test_smoke', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
});
afterAll(() => emu.close());

describe('emulator kernel', () => {
  it('creates, retrieves, updates and lists customers', async () => {
    const c = await stripe.customers.create({ email: 'a@example.com', metadata: { externalId: 'u1' } });
    expect(c.id).toMatch(/^cus_/);
    expect((await stripe.customers.retrieve(c.id)).id).toBe(c.id);
    const u = await stripe.customers.update(c.id, { name: 'Ann', metadata: { externalId: '' } });
    expect(u.name).toBe('Ann');
    expect(u.metadata).toEqual({});
    const list = await stripe.customers.list({ email: 'a@example.com' });
    expect(list.data.map((x) => x.id)).toEqual([c.id]);
  });

  it('rejects unknown params and ids with Stripe errors', async () => {
    await expect(stripe.customers.create({ bogus: 1 } as never)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      param: 'bogus',
      code: 'parameter_unknown',
    });
    await expect(stripe.customers.retrieve('cus_nope')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
  });

  it('prices: lookup keys, transfer, tiers on expand', async () => {
    const product = await stripe.products.create({ id: 'smoke', name: 'Smoke' });
    const p1 = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 100, recurring: { interval: 'month' }, lookup_key: 'smoke_monthly' });
    await expect(
      stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 200, recurring: { interval: 'month' }, lookup_key: 'smoke_monthly' }),
    ).rejects.toMatchObject({ param: 'lookup_key' });
    const p2 = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 200, recurring: { interval: 'month' }, lookup_key: 'smoke_monthly', transfer_lookup_key: true });
    const found = await stripe.prices.list({ lookup_keys: ['smoke_monthly'] });
    expect(found.data.map((p) => p.id)).toEqual([p2.id]);
    expect((await stripe.prices.retrieve(p1.id)).lookup_key).toBeNull();
    const tiered = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      tiers: [{ up_to: 1000, unit_amount: 0 }, { up_to: 'inf', unit_amount_decimal: Stripe.Decimal.from('0.2') }],
      recurring: { interval: 'month' },
    });
    expect(tiered.tiers).toBeUndefined();
    const expanded = await stripe.prices.retrieve(tiered.id, { expand: ['tiers', 'product'] });
    expect(expanded.tiers?.[1]?.up_to).toBeNull();
    expect(String(expanded.tiers?.[1]?.unit_amount_decimal)).toBe('0.2');
    expect((expanded.product as Stripe.Product).name).toBe('Smoke');
  });

  it('replays idempotent requests and refuses a reused key with other params', async () => {
    const a = await stripe.customers.create({ email: 'i@example.com' }, { idempotencyKey: 'k1' });
    const b = await stripe.customers.create({ email: 'i@example.com' }, { idempotencyKey: 'k1' });
    expect(b.id).toBe(a.id);
    expect(b.lastResponse.headers['idempotent-replayed']).toBe('true');
    await expect(stripe.customers.create({ email: 'other@example.com' }, { idempotencyKey: 'k1' })).rejects.toMatchObject({
      type: 'StripeIdempotencyError',
    });
  });
});
