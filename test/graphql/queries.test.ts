import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/customer.js';
import { Price } from '../../src/db/entities/catalog.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';

let gw: TestGateway;

const PLANS = /* GraphQL */ `
  query {
    plans {
      id name interval intervalCount perSeat selfServe features
      price { amount currency formatted }
      meters { meter included unitAmountDecimal currency }
    }
  }
`;
const CUSTOMER = /* GraphQL */ `
  query ($id: ID) { customer(id: $id) { id externalId email name metadata createdAt } }
`;
const CUSTOMERS = /* GraphQL */ `
  query ($first: Int, $after: String, $email: String) {
    customers(first: $first, after: $after, email: $email) {
      totalCount
      pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
      edges { cursor node { id externalId email } }
    }
  }
`;

async function insertCustomer(id: string, externalId: string | null, createdAt: Date, email?: string) {
  const em = gw.orm.em.fork();
  em.create(Customer, {
    id,
    externalId,
    email: email ?? `${externalId ?? id}@example.com`,
    name: `Name ${id}`,
    metadata: { tier: 'gold' },
    createdAt,
    raw: { id, object: 'customer' } as never,
  });
  await em.flush();
}

beforeAll(async () => {
  gw = await startTestGateway();
  const base = Date.parse('2026-01-01T00:00:00Z');
  await insertCustomer('cus_alice', 'user_alice', new Date(base + 1000), 'alice@example.com');
  await insertCustomer('cus_bob', 'user_bob', new Date(base + 2000));
  // Same createdAt as bob: the id breaks the tie, so the order is still total.
  await insertCustomer('cus_carol', 'user_carol', new Date(base + 2000));
  await insertCustomer('cus_dave', null, new Date(base + 3000));
  await insertCustomer('cus_erin', 'user_erin', new Date(base + 4000));
});
afterAll(async () => {
  await gw?.close();
});

describe('plans', () => {
  it('returns the four default plans with the contract values, without a token', async () => {
    const { status, body } = await gw.gql(PLANS);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const api = (included: number, unitAmountDecimal: string) => [{ meter: 'api_calls', included, unitAmountDecimal, currency: 'usd' }];
    expect(body.data!.plans).toEqual([
      { id: 'basic_monthly', name: 'Basic', interval: 'MONTH', intervalCount: 1, perSeat: true, selfServe: true, features: ['API access', '1 workspace'], price: { amount: 100, currency: 'usd', formatted: '$1.00' }, meters: api(1000, '0.2') },
      { id: 'pro_monthly', name: 'Pro', interval: 'MONTH', intervalCount: 1, perSeat: true, selfServe: true, features: ['API access', '10 workspaces', 'Priority support'], price: { amount: 500, currency: 'usd', formatted: '$5.00' }, meters: api(10000, '0.1') },
      { id: 'pro_yearly', name: 'Pro (annual)', interval: 'YEAR', intervalCount: 1, perSeat: true, selfServe: true, features: ['API access', '10 workspaces', 'Priority support'], price: { amount: 5000, currency: 'usd', formatted: '$50.00' }, meters: api(120000, '0.1') },
      { id: 'enterprise', name: 'Enterprise', interval: 'MONTH', intervalCount: 1, perSeat: false, selfServe: false, features: ['Everything', 'SLA', 'Dedicated support'], price: null, meters: [] },
    ]);
  });

  it('prices a plan from the mirrored Stripe price with its lookup_key', async () => {
    const em = gw.orm.em.fork();
    const common = { productId: 'prod_pro', currency: 'usd', type: 'recurring', recurringInterval: 'year', recurringIntervalCount: 1, raw: {} as never };
    em.create(Price, { ...common, id: 'price_old', lookupKey: null, active: false, unitAmount: 5000, usageType: 'licensed', createdAt: new Date('2026-01-01T00:00:00Z') });
    em.create(Price, { ...common, id: 'price_new', lookupKey: 'pro_yearly', active: true, unitAmount: 4800, usageType: 'licensed', createdAt: new Date('2026-02-01T00:00:00Z') });
    em.create(Price, { ...common, id: 'price_meter', lookupKey: 'pro_yearly__api_calls', active: true, unitAmount: null, usageType: 'metered', createdAt: new Date('2026-02-01T00:00:00Z') });
    await em.flush();
    try {
      const { body } = await gw.gql('{ plans { id price { amount formatted } } }');
      expect(body.data!.plans.find((p: { id: string }) => p.id === 'pro_yearly').price).toEqual({ amount: 4800, formatted: '$48.00' });
      expect(body.data!.plans.find((p: { id: string }) => p.id === 'pro_monthly').price).toEqual({ amount: 500, formatted: '$5.00' });
    } finally {
      await gw.orm.em.fork().nativeDelete(Price, {});
    }
  });
});

describe('customer', () => {
  it("gives a customer token its own customer, by no id, its externalId or its cus_ id", async () => {
    const token = await gw.token('user_alice', { email: 'alice@example.com' });
    const own = await gw.gql(CUSTOMER, {}, token);
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data!.customer).toEqual({
      id: 'cus_alice',
      externalId: 'user_alice',
      email: 'alice@example.com',
      name: 'Name cus_alice',
      metadata: { tier: 'gold' },
      createdAt: '2026-01-01T00:00:01.000Z',
    });
    expect((await gw.gql(CUSTOMER, { id: 'user_alice' }, token)).body.data!.customer.id).toBe('cus_alice');
    expect((await gw.gql(CUSTOMER, { id: 'cus_alice' }, token)).body.data!.customer.id).toBe('cus_alice');
  });

  it('is null for a customer token before its first subscribe', async () => {
    const { body } = await gw.gql(CUSTOMER, {}, await gw.token('user_new'));
    expect(body.errors).toBeUndefined();
    expect(body.data!.customer).toBeNull();
  });

  it("is FORBIDDEN for another customer's data, by either id, and for an unknown cus_ id", async () => {
    const token = await gw.token('user_alice');
    for (const id of ['cus_bob', 'user_bob', 'cus_nobody']) {
      const { status, body } = await gw.gql(CUSTOMER, { id }, token);
      expect(status).toBe(200);
      expect(body.data!.customer).toBeNull();
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
      expect(body.errors![0]!.path).toEqual(['customer']);
      assertNoStack(body);
    }
  });

  it('lets an admin read any customer, by cus_ id or externalId; null when unknown', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    expect((await gw.gql(CUSTOMER, { id: 'cus_bob' }, admin)).body.data!.customer.externalId).toBe('user_bob');
    expect((await gw.gql(CUSTOMER, { id: 'user_carol' }, admin)).body.data!.customer.id).toBe('cus_carol');
    expect((await gw.gql(CUSTOMER, { id: 'cus_dave' }, admin)).body.data!.customer.externalId).toBe('');
    const missing = await gw.gql(CUSTOMER, { id: 'cus_missing' }, admin);
    expect(missing.body.errors).toBeUndefined();
    expect(missing.body.data!.customer).toBeNull();
  });

  it('is UNAUTHENTICATED without a token, with a forged or an expired one', async () => {
    const forged = (await gw.token('user_alice', { role: 'admin' })).replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const expired = await gw.token('user_alice', { expiresIn: -3600 });
    for (const [token, message] of [
      [undefined, /Authentication required/],
      [forged, /Invalid token/],
      [expired, /Token expired/],
    ] as const) {
      const { status, body } = await gw.gql(CUSTOMER, { id: 'cus_alice' }, token);
      expect(status).toBe(200);
      expect(body.data!.customer).toBeNull();
      expect(body.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(body.errors![0]!.message).toMatch(message);
      assertNoStack(body);
    }
  });

  it('still serves plans with a rejected token', async () => {
    const expired = await gw.token('user_alice', { expiresIn: -3600 });
    const { body } = await gw.gql('{ plans { id } }', {}, expired);
    expect(body.data!.plans).toHaveLength(4);
  });
});

describe('customers', () => {
  it('pages newest first with stable opaque cursors and a total count', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const { body } = await gw.gql(CUSTOMERS, { first: 2, after }, admin);
      expect(body.errors).toBeUndefined();
      const conn = body.data!.customers;
      expect(conn.totalCount).toBe(5);
      seen.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
      expect(conn.pageInfo.startCursor).toBe(conn.edges[0]?.cursor ?? null);
      expect(conn.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(['cus_erin', 'cus_dave', 'cus_carol', 'cus_bob', 'cus_alice']);

    // A cursor keeps its place when a newer customer arrives.
    const first = await gw.gql(CUSTOMERS, { first: 2 }, admin);
    await insertCustomer('cus_frank', 'user_frank', new Date('2026-03-01T00:00:00Z'));
    const next = await gw.gql(CUSTOMERS, { first: 2, after: first.body.data!.customers.pageInfo.endCursor }, admin);
    expect(next.body.data!.customers.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(['cus_carol', 'cus_bob']);
    expect(next.body.data!.customers.totalCount).toBe(6);
  });

  it('filters by email', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const { body } = await gw.gql(CUSTOMERS, { email: 'alice@example.com' }, admin);
    expect(body.data!.customers.totalCount).toBe(1);
    expect(body.data!.customers.edges[0].node.id).toBe('cus_alice');
  });

  it('rejects bad input naming the field', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const bad = await gw.gql(CUSTOMERS, { first: 0 }, admin);
    expect(bad.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    const cursor = await gw.gql(CUSTOMERS, { after: 'garbage!' }, admin);
    expect(cursor.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('is for admins only', async () => {
    const { body } = await gw.gql(CUSTOMERS, {}, await gw.token('user_alice'));
    expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const anon = await gw.gql(CUSTOMERS, {});
    expect(anon.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});
