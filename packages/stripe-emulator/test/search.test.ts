import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { emulatorWithClient, refusal } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

const ids = (r: { data: { id: string }[] }) => r.data.map((o) => o.id).sort();

describe('search', () => {
  it('customers: exact and substring matches, metadata, AND / OR, negation, created comparisons', async () => {
    const ada = await stripe.customers.create({ email: 'ada@search.example', name: 'Ada Lovelace', metadata: { tier: 'gold' } });
    const alan = await stripe.customers.create({ email: 'alan@search.example', name: 'Alan Turing', metadata: { tier: 'silver' } });
    const grace = await stripe.customers.create({ email: 'grace@elsewhere.example', name: 'Grace Hopper', phone: '+15550100' });

    expect(ids(await stripe.customers.search({ query: 'email:"ADA@search.example"' }))).toEqual([ada.id]);
    expect(ids(await stripe.customers.search({ query: 'email~"search.example"' }))).toEqual([ada.id, alan.id].sort());
    expect(ids(await stripe.customers.search({ query: "name~'hopp'" }))).toEqual([grace.id]);
    expect(ids(await stripe.customers.search({ query: 'metadata["tier"]:"gold"' }))).toEqual([ada.id]);
    expect(ids(await stripe.customers.search({ query: 'metadata["tier"]:"gold" OR phone:"+15550100"' }))).toEqual([ada.id, grace.id].sort());
    expect(ids(await stripe.customers.search({ query: 'email~"search.example" AND -metadata["tier"]:"gold"' }))).toEqual([alan.id]);
    expect(ids(await stripe.customers.search({ query: '-metadata["tier"]:null AND email~"example"' }))).toEqual([ada.id, alan.id].sort());
    const since = await stripe.customers.search({ query: `created>=${ada.created} AND email~"example"`, limit: 100 });
    expect(since.data.map((c) => c.id)).toEqual(expect.arrayContaining([ada.id, alan.id, grace.id]));
    expect((await stripe.customers.search({ query: `created<${ada.created} AND email~"search.example"` })).data).toEqual([]);
  });

  it('pages with page / next_page, and the SDK auto-paginates', async () => {
    const made = [];
    for (let i = 0; i < 7; i++) made.push((await stripe.products.create({ name: `Pager ${i}`, metadata: { batch: 'pager' } })).id);
    const first = await stripe.products.search({ query: 'metadata["batch"]:"pager"', limit: 3 });
    expect(first).toMatchObject({ object: 'search_result', has_more: true, next_page: expect.any(String) });
    expect(first.data.map((p) => p.id)).toEqual(made.slice(-3).reverse());
    const second = await stripe.products.search({ query: 'metadata["batch"]:"pager"', limit: 3, page: first.next_page! });
    expect(second.data.map((p) => p.id)).toEqual(made.slice(1, 4).reverse());
    const all = await stripe.products.search({ query: 'metadata["batch"]:"pager"', limit: 3 }).autoPagingToArray({ limit: 100 });
    expect(all.map((p) => p.id).sort()).toEqual([...made].sort());
  });

  it('prices, products, subscriptions and invoices by their documented fields', async () => {
    const product = await stripe.products.create({ name: 'Searchable Widget', description: 'a thing to find' });
    const price = await stripe.prices.create({ product: product.id, currency: 'eur', unit_amount: 700, lookup_key: 'search_lk', recurring: { interval: 'month' } });
    expect(ids(await stripe.products.search({ query: 'description~"thing to" AND active:"true"' }))).toEqual([product.id]);
    expect(ids(await stripe.prices.search({ query: `product:"${product.id}" AND currency:"eur" AND type:"recurring"` }))).toEqual([price.id]);
    expect(ids(await stripe.prices.search({ query: 'lookup_key:"search_lk"' }))).toEqual([price.id]);

    const customer = await stripe.customers.create({ email: 'subs@search.example' });
    await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const pm = (await stripe.customers.listPaymentMethods(customer.id)).data[0]!;
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], default_payment_method: pm.id, metadata: { s: 'one' } });
    expect(ids(await stripe.subscriptions.search({ query: `status:"active" AND metadata["s"]:"one"` }))).toEqual([sub.id]);
    const invoice = await stripe.invoices.search({ query: `customer:"${customer.id}" AND subscription:"${sub.id}" AND total>=700 AND total<701` });
    expect(invoice.data).toHaveLength(1);
    expect(invoice.data[0]).toMatchObject({ status: 'paid', total: 700 });
    expect((await stripe.invoices.search({ query: `customer:"${customer.id}" AND -status:"paid"` })).data).toEqual([]);
  });

  it('refuses unsupported fields, mixed AND/OR and malformed queries with Stripe errors', async () => {
    const unsupported = await refusal(stripe.customers.search({ query: 'balance:0' }));
    expect(unsupported).toMatchObject({ type: 'StripeInvalidRequestError', param: 'query' });
    expect(unsupported.message).toMatch(/unsupported search field for resource `customers`/);
    await expect(refusal(stripe.customers.search({ query: 'name:"a" AND email:"b" OR phone:"c"' }))).resolves.toMatchObject({ param: 'query' });
    await expect(refusal(stripe.customers.search({ query: 'email:"unterminated' }))).resolves.toMatchObject({ param: 'query' });
    await expect(refusal(stripe.customers.search({ query: 'email~"ab"' }))).resolves.toMatchObject({ param: 'query' });
    await expect(refusal(stripe.subscriptions.search({ query: 'status~"act"' }))).resolves.toMatchObject({ param: 'query' });
    await expect(refusal(stripe.customers.search({} as { query: string }))).resolves.toMatchObject({ param: 'query' });
  });
});
