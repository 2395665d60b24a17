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

async function eventTypesOf(id: string): Promise<string[]> {
  return (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === id).map((e) => e.type);
}

describe('the legacy Plans API', () => {
  it('creates a plan with an inline product; it is a recurring price a subscription can use', async () => {
    const plan = await stripe.plans.create({ currency: 'usd', interval: 'month', amount: 2000, product: { name: 'Legacy' } });
    expect(plan).toMatchObject({ object: 'plan', amount: 2000, interval: 'month', interval_count: 1, usage_type: 'licensed', active: true });
    expect([...missingRequired(new StripeTypes(), plan)]).toEqual([]);
    const product = await stripe.products.retrieve(plan.product as string);
    expect(product.name).toBe('Legacy');
    const price = await stripe.prices.retrieve(plan.id);
    expect(price).toMatchObject({ unit_amount: 2000, recurring: { interval: 'month' } });
    expect(await eventTypesOf(plan.id)).toEqual(['plan.created', 'price.created']);

    const customer = await stripe.customers.create({ source: 'tok_visa' });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: plan.id }] });
    expect(sub.items.data[0]!.plan.id).toBe(plan.id);
  });

  it('retrieves, updates (plan.updated with previous_attributes), lists and deletes', async () => {
    const product = await stripe.products.create({ name: 'P' });
    const plan = await stripe.plans.create({ id: 'gold-monthly', currency: 'usd', interval: 'month', amount: 500, product: product.id });
    expect(plan.id).toBe('gold-monthly');
    await expect(stripe.plans.create({ id: 'gold-monthly', currency: 'usd', interval: 'month', amount: 500, product: product.id })).rejects.toMatchObject({ param: 'id' });
    expect((await stripe.plans.retrieve(plan.id)).amount).toBe(500);
    const updated = await stripe.plans.update(plan.id, { metadata: { foo: 'bar' }, nickname: 'Gold' });
    expect(updated).toMatchObject({ metadata: { foo: 'bar' }, nickname: 'Gold' });
    const ev = (await allEvents(stripe)).find((e) => e.type === 'plan.updated' && (e.data.object as { id: string }).id === plan.id)!;
    expect(ev.data.previous_attributes).toMatchObject({ metadata: {}, nickname: null });
    expect((await stripe.plans.list({ product: product.id })).data.map((p) => p.id)).toEqual([plan.id]);
    expect(await stripe.plans.del(plan.id)).toEqual({ id: plan.id, object: 'plan', deleted: true });
    await expect(stripe.plans.retrieve(plan.id)).rejects.toMatchObject({ statusCode: 404 });
    expect((await stripe.plans.list({ product: product.id })).data).toEqual([]);
    expect(await eventTypesOf(plan.id)).toContain('plan.deleted');
  });

  it('refuses a plan without an amount or product', async () => {
    await expect(stripe.plans.create({ currency: 'usd', interval: 'month', product: { name: 'x' } })).rejects.toMatchObject({ param: 'amount' });
    await expect(stripe.plans.create({ currency: 'usd', interval: 'month', amount: 1 })).rejects.toMatchObject({ param: 'product' });
  });
});
