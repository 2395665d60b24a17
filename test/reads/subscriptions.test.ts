import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Price } from '../../src/db/entities/catalog.js';
import { countStatements } from '../support/db.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice, PRICES, subscription } from './fixtures.js';

let gw: TestGateway;
let alice: string;
let admin: string;

const SUBS = /* GraphQL */ `
  query ($customerId: ID, $status: [SubscriptionStatus!]) {
    subscriptions(customerId: $customerId, status: $status) {
      id status isActive quantity cancelAtPeriodEnd canceledAt trialEnd currentPeriodStart currentPeriodEnd
      plan { id name interval price { amount } }
      mrr { amount currency formatted }
      customer { id externalId }
    }
  }
`;

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  customer(em, 'cus_alice', 'user_alice', at(0));
  customer(em, 'cus_bob', 'user_bob', at(1));
  subscription(em, { id: 'sub_a4', customerId: 'cus_alice', status: 'canceled', planId: 'pro_monthly', price: PRICES.pro, quantity: 2, createdAt: at(50) });
  subscription(em, {
    id: 'sub_a1', customerId: 'cus_alice', status: 'active', planId: 'basic_monthly', price: PRICES.basic, quantity: 3, createdAt: at(100),
    metered: PRICES.apiCalls, latestInvoiceId: 'in_a1_latest',
  });
  subscription(em, { id: 'sub_a2', customerId: 'cus_alice', status: 'past_due', planId: 'pro_yearly', price: PRICES.proYearly, quantity: 1, createdAt: at(200) });
  subscription(em, {
    id: 'sub_a3', customerId: 'cus_alice', status: 'active', planId: 'pro_yearly', price: PRICES.proYearly, quantity: 1, createdAt: at(300),
    discount: { couponId: 'co_1', percentOff: 12.5, amountOff: null, currency: null, duration: 'forever', durationInMonths: null, end: null },
  });
  subscription(em, { id: 'sub_a5', customerId: 'cus_alice', status: 'trialing', planId: 'pro_monthly', price: PRICES.pro, quantity: 1, createdAt: at(400), trialEnd: at(86_400 * 14) });
  subscription(em, { id: 'sub_b1', customerId: 'cus_bob', status: 'active', planId: 'pro_monthly', price: PRICES.pro, quantity: 1, createdAt: at(500), cancelAtPeriodEnd: true });
  // A price the catalog does not know (made in the dashboard): the plan comes from the price itself.
  subscription(em, {
    id: 'sub_b2', customerId: 'cus_bob', status: 'incomplete', planId: null, price: { id: 'price_custom', unitAmount: 777, interval: 'week' }, quantity: 1, createdAt: at(600),
  });
  // Carol's item price is a bare id in `raw`: its amount comes from the mirrored prices table.
  customer(em, 'cus_carol', 'user_carol', at(2));
  em.create(Price, {
    id: 'price_bare', productId: 'prod_x', currency: 'usd', type: 'recurring', recurringInterval: 'year', recurringIntervalCount: 1, lookupKey: null,
    active: true, unitAmount: 1250, usageType: 'licensed', createdAt: at(0), raw: {} as never,
  });
  subscription(em, {
    id: 'sub_c1', customerId: 'cus_carol', status: 'active', planId: null, price: { id: 'price_bare', unitAmount: 1250, interval: 'year' }, quantity: 2,
    createdAt: at(700), bareItemPrice: true,
  });
  invoice(em, { id: 'in_a1_old', customerId: 'cus_alice', subscriptionId: 'sub_a1', total: 300, createdAt: at(100) });
  invoice(em, {
    id: 'in_a1_latest', customerId: 'cus_alice', subscriptionId: 'sub_a1', status: 'open', total: 1234, createdAt: at(100 + 30 * 86_400),
    lines: [
      { description: '3 × Basic (at $1.00 / month)', amount: 300, quantity: 3 },
      { description: 'api_calls overage', amount: 934, quantity: 4670 },
    ],
  });
  await em.flush();
  alice = await gw.token('user_alice');
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

const ids = (list: { id: string }[]) => list.map((s) => s.id);

describe('subscriptions (root)', () => {
  it("lists the caller's own subscriptions, newest first, with the contract's fields and exact money", async () => {
    const { body } = await gw.gql(SUBS, {}, alice);
    expect(body.errors).toBeUndefined();
    const subs = body.data!.subscriptions;
    expect(ids(subs)).toEqual(['sub_a5', 'sub_a3', 'sub_a2', 'sub_a1', 'sub_a4']);
    const byId = Object.fromEntries(subs.map((s: { id: string }) => [s.id, s]));
    expect(byId.sub_a1).toEqual({
      id: 'sub_a1',
      status: 'ACTIVE',
      isActive: true,
      quantity: 3,
      cancelAtPeriodEnd: false,
      canceledAt: null,
      trialEnd: null,
      currentPeriodStart: at(100).toISOString(),
      currentPeriodEnd: new Date(at(100).getTime() + 30 * 86_400_000).toISOString(),
      plan: { id: 'basic_monthly', name: 'Basic', interval: 'MONTH', price: { amount: 100 } },
      // 3 seats × $1.00; the metered item is usage, not recurring revenue.
      mrr: { amount: 300, currency: 'usd', formatted: '$3.00' },
      customer: { id: 'cus_alice', externalId: 'user_alice' },
    });
    // $50 / 12 = 416.67 → 417; with 12.5 % off: 364.58 → 365.
    expect(byId.sub_a2.mrr).toEqual({ amount: 417, currency: 'usd', formatted: '$4.17' });
    expect(byId.sub_a2).toMatchObject({ status: 'PAST_DUE', isActive: false, plan: { id: 'pro_yearly', interval: 'YEAR' } });
    expect(byId.sub_a3.mrr.amount).toBe(365);
    // A subscription's own normalised amount, whatever its status.
    expect(byId.sub_a4).toMatchObject({ status: 'CANCELED', isActive: false, mrr: { amount: 1000 } });
    expect(byId.sub_a5).toMatchObject({ status: 'TRIALING', isActive: true, trialEnd: at(86_400 * 14).toISOString(), mrr: { amount: 500 } });
  });

  it('filters by status', async () => {
    const { body } = await gw.gql(SUBS, { status: ['ACTIVE', 'PAST_DUE'] }, alice);
    expect(ids(body.data!.subscriptions)).toEqual(['sub_a3', 'sub_a2', 'sub_a1']);
    const trialing = await gw.gql(SUBS, { status: ['TRIALING'] }, alice);
    expect(ids(trialing.body.data!.subscriptions)).toEqual(['sub_a5']);
  });

  it("is FORBIDDEN for another customer's subscriptions, by cus_ id or externalId, and for an unknown cus_ id", async () => {
    for (const customerId of ['cus_bob', 'user_bob', 'cus_nobody']) {
      const { body } = await gw.gql(SUBS, { customerId }, alice);
      expect(body.data).toEqual({ subscriptions: null });
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
      assertNoStack(body);
    }
    // Naming itself is fine.
    expect(ids((await gw.gql(SUBS, { customerId: 'cus_alice', status: ['CANCELED'] }, alice)).body.data!.subscriptions)).toEqual(['sub_a4']);
  });

  it('is empty for a customer token before its first subscribe, and UNAUTHENTICATED without a token', async () => {
    const fresh = await gw.gql(SUBS, {}, await gw.token('user_new'));
    expect(fresh.body.errors).toBeUndefined();
    expect(fresh.body.data!.subscriptions).toEqual([]);
    const anon = await gw.gql(SUBS, {});
    expect(anon.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it("lets an admin list any customer's subscriptions (cus_ id or externalId), or everyone's", async () => {
    expect(ids((await gw.gql(SUBS, { customerId: 'user_bob' }, admin)).body.data!.subscriptions)).toEqual(['sub_b2', 'sub_b1']);
    expect(ids((await gw.gql(SUBS, { customerId: 'cus_bob', status: ['ACTIVE'] }, admin)).body.data!.subscriptions)).toEqual(['sub_b1']);
    const all = await gw.gql(SUBS, { status: ['ACTIVE'] }, admin);
    expect(ids(all.body.data!.subscriptions)).toEqual(['sub_c1', 'sub_b1', 'sub_a3', 'sub_a1']);
    expect((await gw.gql(SUBS, { customerId: 'user_unknown' }, admin)).body.data!.subscriptions).toEqual([]);
  });

  it('bounds the list by first (default 100, at most 1000): the admin list without a customer reads no more rows', async () => {
    const FIRST = /* GraphQL */ `query ($first: Int, $customerId: ID) { subscriptions(first: $first, customerId: $customerId, status: [ACTIVE]) { id } }`;
    expect(ids((await gw.gql(FIRST, { first: 2 }, admin)).body.data!.subscriptions)).toEqual(['sub_c1', 'sub_b1']);
    expect(ids((await gw.gql(FIRST, { first: 1, customerId: 'cus_alice' }, admin)).body.data!.subscriptions)).toEqual(['sub_a3']);
    for (const first of [0, 1001]) {
      const { body } = await gw.gql(FIRST, { first }, admin);
      expect(body.data).toEqual({ subscriptions: null });
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });

  it('describes a plan the catalog does not know from its Stripe price', async () => {
    const { body } = await gw.gql(SUBS, { customerId: 'cus_bob', status: ['INCOMPLETE'] }, admin);
    expect(body.errors).toBeUndefined();
    expect(body.data!.subscriptions[0]).toMatchObject({
      id: 'sub_b2',
      isActive: false,
      plan: { id: 'price_custom', interval: 'WEEK', price: { amount: 777 } },
      // $7.77 a week × 52 / 12 = 3367 cents.
      mrr: { amount: 3367 },
    });
  });
});

describe('MRR of an item whose price is not expanded', () => {
  it('reads the price from the mirrored prices table', async () => {
    const { body } = await gw.gql(/* GraphQL */ `{ customer { mrr { amount } subscriptions { id mrr { amount } } } }`, {}, await gw.token('user_carol'));
    expect(body.errors).toBeUndefined();
    // 2 × $12.50 a year = 2500 / 12 = 208.33 → 208.
    expect(body.data!.customer).toEqual({ mrr: { amount: 208 }, subscriptions: [{ id: 'sub_c1', mrr: { amount: 208 } }] });
  });
});

describe('latestInvoice', () => {
  it('resolves the latest invoice with its lines in order, its customer and subscription', async () => {
    const q = /* GraphQL */ `
      query {
        subscriptions(status: [ACTIVE]) {
          id
          latestInvoice {
            id number status total { amount formatted } amountDue { amount } amountPaid { amount } attemptCount
            hostedInvoiceUrl pdfUrl
            lines { description amount { amount currency formatted } quantity proration }
            customer { id } subscription { id plan { id } }
          }
        }
      }
    `;
    const { body } = await gw.gql(q, {}, alice);
    expect(body.errors).toBeUndefined();
    const [a3, a1] = body.data!.subscriptions;
    expect(a3).toEqual({ id: 'sub_a3', latestInvoice: null });
    expect(a1.latestInvoice).toEqual({
      id: 'in_a1_latest',
      number: 'NUM-in_a1_latest',
      status: 'OPEN',
      total: { amount: 1234, formatted: '$12.34' },
      amountDue: { amount: 1234 },
      amountPaid: { amount: 0 },
      attemptCount: 0,
      hostedInvoiceUrl: 'https://invoice.example/in_a1_latest',
      pdfUrl: 'https://invoice.example/in_a1_latest.pdf',
      lines: [
        { description: '3 × Basic (at $1.00 / month)', amount: { amount: 300, currency: 'usd', formatted: '$3.00' }, quantity: 3, proration: false },
        { description: 'api_calls overage', amount: { amount: 934, currency: 'usd', formatted: '$9.34' }, quantity: 4670, proration: false },
      ],
      customer: { id: 'cus_alice' },
      subscription: { id: 'sub_a1', plan: { id: 'basic_monthly' } },
    });
  });
});

describe('Customer.subscriptions and Customer.mrr', () => {
  const Q = /* GraphQL */ `
    query ($id: ID, $status: [SubscriptionStatus!]) {
      customer(id: $id) { id mrr { amount currency formatted } subscriptions(status: $status) { id } all: subscriptions { id } }
    }
  `;

  it('sums ACTIVE and PAST_DUE exactly and rounds once', async () => {
    const { body } = await gw.gql(Q, { status: ['TRIALING', 'CANCELED'] }, alice);
    expect(body.errors).toBeUndefined();
    // 300 + 5000/12 + 5000/12 × 0.875 = 1081.25 → 1081 (rounding each first would give 300 + 417 + 365 = 1082).
    expect(body.data!.customer).toEqual({
      id: 'cus_alice',
      mrr: { amount: 1081, currency: 'usd', formatted: '$10.81' },
      subscriptions: [{ id: 'sub_a5' }, { id: 'sub_a4' }],
      all: [{ id: 'sub_a5' }, { id: 'sub_a3' }, { id: 'sub_a2' }, { id: 'sub_a1' }, { id: 'sub_a4' }],
    });
  });

  it("leaves out TRIALING and INCOMPLETE, and gives an admin any customer's", async () => {
    const { body } = await gw.gql(Q, { id: 'user_bob' }, admin);
    expect(body.data!.customer.mrr).toEqual({ amount: 500, currency: 'usd', formatted: '$5.00' });
    expect(body.data!.customer.all).toEqual([{ id: 'sub_b2' }, { id: 'sub_b1' }]);
  });
});

describe('Subscription.plan and the mirrored price', () => {
  const onlyIds = /* GraphQL */ `{ subscriptions(customerId: "cus_alice", status: [ACTIVE]) { id plan { id name } } }`;
  const priced = /* GraphQL */ `
    query { subscriptions(customerId: "cus_alice", status: [ACTIVE]) { id plan { id ...Priced } } }
    fragment Priced on Plan { ... on Plan { price { amount } } }
  `;

  it('prices through fragments from the mirror, and reads no price for plan { id name }', async () => {
    const em = gw.orm.em.fork();
    em.create(Price, {
      id: 'price_basic_mirrored', productId: 'prod_basic', currency: 'usd', type: 'recurring', recurringInterval: 'month', recurringIntervalCount: 1,
      lookupKey: 'basic_monthly', active: true, unitAmount: 150, usageType: 'licensed', createdAt: at(5), raw: {} as never,
    });
    await em.flush();
    try {
      const withPrice = await countStatements(gw.orm, () => gw.gql(priced, {}, admin));
      expect(withPrice.result.body.errors).toBeUndefined();
      const basic = (withPrice.result.body.data!.subscriptions as any[]).find((s) => s.id === 'sub_a1');
      expect(basic.plan).toEqual({ id: 'basic_monthly', price: { amount: 150 } });
      expect(withPrice.statements.some((s) => /from prices/.test(s))).toBe(true);

      const ids = await countStatements(gw.orm, () => gw.gql(onlyIds, {}, admin));
      expect(ids.result.body.errors).toBeUndefined();
      expect((ids.result.body.data!.subscriptions as any[]).find((s) => s.id === 'sub_a1').plan).toEqual({ id: 'basic_monthly', name: 'Basic' });
      expect(ids.statements.filter((s) => /from prices/.test(s))).toEqual([]);
    } finally {
      await gw.orm.em.fork().nativeDelete(Price, { id: 'price_basic_mirrored' });
    }
  });
});
