import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type RunningEmulator } from '../src/index.js';
import { emulatorWithClient, refusal } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

describe("Stripe's validation", () => {
  it('refuses a currency Stripe does not support, on prices, invoice items and coupons', async () => {
    const product = await stripe.products.create({ name: 'Currency' });
    const customer = await stripe.customers.create();
    for (const call of [
      stripe.prices.create({ product: product.id, currency: 'zzz', unit_amount: 100 }),
      stripe.invoiceItems.create({ customer: customer.id, currency: 'zzz', amount: 100 }),
      stripe.coupons.create({ amount_off: 100, currency: 'zzz', duration: 'once' }),
    ]) {
      const err = await refusal(call);
      expect(err).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400, param: 'currency' });
      expect(err.message).toMatch(/Invalid currency: zzz/);
    }
    // Upper case is accepted and stored lower case, as at Stripe.
    expect((await stripe.prices.create({ product: product.id, currency: 'EUR', unit_amount: 100 })).currency).toBe('eur');
  });

  it('refuses an invalid e-mail address on customer create and update', async () => {
    const err = await refusal(stripe.customers.create({ email: 'not-an-email' }));
    expect(err).toMatchObject({ type: 'StripeInvalidRequestError', param: 'email', code: 'email_invalid' });
    const c = await stripe.customers.create({ email: 'ok@example.com' });
    expect(await refusal(stripe.customers.update(c.id, { email: 'still not' }))).toMatchObject({ param: 'email' });
    expect((await stripe.customers.retrieve(c.id)) as Stripe.Customer).toMatchObject({ email: 'ok@example.com' });
  });

  it('accepts 50 metadata keys and refuses a 51st; keys up to 40 and values up to 500 characters', async () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys((await stripe.customers.create({ metadata: fifty })).metadata)).toHaveLength(50);
    const err = await refusal(stripe.customers.create({ metadata: { ...fifty, k50: 'v' } }));
    expect(err).toMatchObject({ type: 'StripeInvalidRequestError', param: 'metadata' });
    expect(err.message).toMatch(/up to 50 keys, but you've set 51/);
    await refusal(stripe.products.create({ name: 'M', metadata: { ['k'.repeat(41)]: 'v' } }));
    await refusal(stripe.products.create({ name: 'M', metadata: { k: 'v'.repeat(501) } }));
    await stripe.products.create({ name: 'M', metadata: { ['k'.repeat(40)]: 'v'.repeat(500) } });
  });

  it('refuses enabled_events that are not event types', async () => {
    const err = await refusal(
      stripe.webhookEndpoints.create({ url: 'https://example.com/hook', enabled_events: ['customer.created', 'not.an.event' as 'customer.created'] }),
    );
    expect(err).toMatchObject({ type: 'StripeInvalidRequestError', param: 'enabled_events[1]' });
    const ok = await stripe.webhookEndpoints.create({ url: 'https://example.com/hook', enabled_events: ['customer.created', 'invoice.paid'] });
    expect(await refusal(stripe.webhookEndpoints.update(ok.id, { enabled_events: ['invoice.nope' as 'invoice.paid'] }))).toMatchObject({
      param: 'enabled_events[0]',
    });
  });
});

describe('API versions', () => {
  it('answers with a Stripe-Version header: the requested version, else its own', async () => {
    const c = await stripe.customers.create();
    expect(c.lastResponse.headers['stripe-version']).toBe(API_VERSION);
    const older = await stripe.customers.retrieve(c.id, {}, { apiVersion: '2024-09-30.acacia' });
    expect(older.lastResponse.headers['stripe-version']).toBe('2024-09-30.acacia');
  });

  it("refuses an unknown Stripe-Version with Stripe's message", async () => {
    const old = new Stripe('sk_test_emulator', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0, apiVersion: '1999-01-01' as never });
    const err = await refusal(old.customers.create());
    expect(err).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400, message: 'Invalid Stripe API version: 1999-01-01' });
    expect((await stripe.customers.list({ limit: 100 })).data.length).toBeGreaterThan(0);
  });
});

describe('request encoding and auth', () => {
  it('refuses JSON bodies on v1 as Stripe does, and creates nothing', async () => {
    const before = (await stripe.products.list({ limit: 100 })).data.length;
    const res = await fetch(`${emu.url}/v1/products`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sk_test_x', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Json' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/unsupported Content-Type application\/json/);
    expect((await stripe.products.list({ limit: 100 })).data.length).toBe(before);
  });

  it('accepts the secret key as Basic auth (curl -u sk_test_…:), and refuses a publishable key', async () => {
    const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;
    const res = await fetch(`${emu.url}/v1/customers`, {
      method: 'POST',
      headers: { Authorization: basic('sk_test_docs'), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'email=basic%40example.com',
    });
    expect(res.status).toBe(200);
    const created = (await res.json()) as Stripe.Customer;
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({ email: 'basic@example.com' });
    const refused = await fetch(`${emu.url}/v1/customers`, { headers: { Authorization: basic('pk_test_nope') } });
    expect(refused.status).toBe(401);
  });
});
