import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invoice } from '../../src/db/entities/invoice.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice } from './fixtures.js';

let gw: TestGateway;
let alice: string;
let admin: string;

const INVOICES = /* GraphQL */ `
  query ($customerId: ID, $status: InvoiceStatus, $first: Int, $after: String) {
    invoices(customerId: $customerId, status: $status, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id status createdAt total { amount } customer { id } } }
    }
  }
`;
const CUSTOMER_INVOICES = /* GraphQL */ `
  query ($first: Int, $after: String, $status: InvoiceStatus) {
    customer {
      id
      invoices(first: $first, after: $after, status: $status) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id } }
      }
    }
  }
`;

// Alice: 7 invoices, one second apart, except in_a3/in_a4 which share a timestamp (the id breaks the tie).
const ALICE = [
  { id: 'in_a1', s: 10, status: 'paid' },
  { id: 'in_a2', s: 20, status: 'paid' },
  { id: 'in_a3', s: 30, status: 'open' },
  { id: 'in_a4', s: 30, status: 'paid' },
  { id: 'in_a5', s: 50, status: 'void' },
  { id: 'in_a6', s: 60, status: 'paid' },
  { id: 'in_a7', s: 70, status: 'open' },
] as const;
const NEWEST_FIRST = ['in_a7', 'in_a6', 'in_a5', 'in_a4', 'in_a3', 'in_a2', 'in_a1'];

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  customer(em, 'cus_alice', 'user_alice', at(0));
  customer(em, 'cus_bob', 'user_bob', at(1));
  for (const a of ALICE) invoice(em, { id: a.id, customerId: 'cus_alice', status: a.status, total: 100 + a.s, createdAt: at(a.s) });
  invoice(em, { id: 'in_b1', customerId: 'cus_bob', status: 'paid', total: 999, createdAt: at(65) });
  invoice(em, { id: 'in_b2', customerId: 'cus_bob', status: 'open', total: 999, createdAt: at(5) });
  await em.flush();
  alice = await gw.token('user_alice');
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

type Page = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { cursor: string; node: { id: string } }[] };
const nodeIds = (page: Page) => page.edges.map((e) => e.node.id);

async function page(vars: Record<string, unknown>, token = alice): Promise<Page> {
  const { body } = await gw.gql(INVOICES, vars, token);
  expect(body.errors).toBeUndefined();
  return body.data!.invoices as Page;
}

describe('invoices (root)', () => {
  it("pages the caller's own invoices newest first, with totalCount and cursors", async () => {
    const p1 = await page({ first: 3 });
    expect(nodeIds(p1)).toEqual(NEWEST_FIRST.slice(0, 3));
    expect(p1.totalCount).toBe(7);
    expect(p1.pageInfo).toEqual({ hasNextPage: true, endCursor: p1.edges[2]!.cursor });
    const p2 = await page({ first: 3, after: p1.pageInfo.endCursor });
    expect(nodeIds(p2)).toEqual(NEWEST_FIRST.slice(3, 6));
    const p3 = await page({ first: 3, after: p2.pageInfo.endCursor });
    expect(nodeIds(p3)).toEqual(['in_a1']);
    expect(p3.pageInfo.hasNextPage).toBe(false);
    expect(p3.totalCount).toBe(7);
    const whole = await page({});
    expect(nodeIds(whole)).toEqual(NEWEST_FIRST);
    expect(whole.edges[0]!).toMatchObject({ node: { id: 'in_a7', status: 'OPEN', createdAt: at(70).toISOString(), total: { amount: 170 }, customer: { id: 'cus_alice' } } });
  });

  it('keeps a cursor stable while newer and older invoices are added', async () => {
    const p1 = await page({ first: 2 });
    const em = gw.orm.em.fork();
    invoice(em, { id: 'in_a8', customerId: 'cus_alice', total: 1, createdAt: at(80) }); // newer than every page
    invoice(em, { id: 'in_a0', customerId: 'cus_alice', total: 1, createdAt: at(1) }); // oldest
    await em.flush();
    try {
      const p2 = await page({ first: 3, after: p1.pageInfo.endCursor });
      expect(nodeIds(p2)).toEqual(['in_a5', 'in_a4', 'in_a3']);
      expect(p2.totalCount).toBe(9);
      const again = await page({ first: 2, after: p2.edges[0]!.cursor });
      expect(nodeIds(again)).toEqual(['in_a4', 'in_a3']);
    } finally {
      await gw.orm.em.fork().nativeDelete(Invoice, { id: { $in: ['in_a8', 'in_a0'] } });
    }
  });

  it('filters by status (totalCount too)', async () => {
    const open = await page({ status: 'OPEN' });
    expect(nodeIds(open)).toEqual(['in_a7', 'in_a3']);
    expect(open.totalCount).toBe(2);
    const paid = await page({ status: 'PAID', first: 2 });
    expect(nodeIds(paid)).toEqual(['in_a6', 'in_a4']);
    expect(paid.totalCount).toBe(4);
    expect(nodeIds(await page({ status: 'PAID', first: 2, after: paid.pageInfo.endCursor }))).toEqual(['in_a2', 'in_a1']);
    expect((await page({ status: 'UNCOLLECTIBLE' })).totalCount).toBe(0);
  });

  it('rejects first outside 1..100 and a foreign cursor with BAD_USER_INPUT naming the field', async () => {
    for (const [vars, field] of [
      [{ first: 0 }, 'first'],
      [{ first: 101 }, 'first'],
      [{ first: -5 }, 'first'],
      [{ after: 'not-a-cursor!' }, 'after'],
      [{ after: Buffer.from('hello').toString('base64url') }, 'after'],
    ] as const) {
      const { body } = await gw.gql(INVOICES, vars, alice);
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      assertNoStack(body);
    }
    expect(nodeIds(await page({ first: 100 }))).toHaveLength(7);
    // The same check for a customer without invoices yet.
    const { body } = await gw.gql(INVOICES, { first: 0 }, await gw.token('user_new'));
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it("never shows another customer's invoices to a customer token; FORBIDDEN when named", async () => {
    const own = await page({ first: 100 });
    expect(own.edges.every((e) => e.node.id.startsWith('in_a'))).toBe(true);
    for (const customerId of ['cus_bob', 'user_bob', 'cus_nobody']) {
      const { body } = await gw.gql(INVOICES, { customerId }, alice);
      expect(body.data).toEqual({ invoices: null });
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    }
    const bobToken = await gw.token('user_bob');
    expect(nodeIds(await page({}, bobToken))).toEqual(['in_b1', 'in_b2']);
    const fresh = await page({}, await gw.token('user_new'));
    expect(fresh).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it("lets an admin page one customer's invoices (either id) or everyone's", async () => {
    expect(nodeIds(await page({ customerId: 'user_bob' }, admin))).toEqual(['in_b1', 'in_b2']);
    expect(nodeIds(await page({ customerId: 'cus_bob', status: 'OPEN' }, admin))).toEqual(['in_b2']);
    const all = await page({ first: 3 }, admin);
    expect(nodeIds(all)).toEqual(['in_a7', 'in_b1', 'in_a6']);
    expect(all.totalCount).toBe(9);
    const next = await page({ first: 100, after: all.pageInfo.endCursor }, admin);
    expect(nodeIds(next)).toEqual(['in_a5', 'in_a4', 'in_a3', 'in_a2', 'in_a1', 'in_b2']);
    expect((await page({ status: 'OPEN' }, admin)).totalCount).toBe(3);
  });
});

describe('Customer.invoices', () => {
  it('pages like the root field, default 20, with the status filter', async () => {
    const { body } = await gw.gql(CUSTOMER_INVOICES, {}, alice);
    expect(body.errors).toBeUndefined();
    expect(nodeIds(body.data!.customer.invoices)).toEqual(NEWEST_FIRST);
    const p1 = (await gw.gql(CUSTOMER_INVOICES, { first: 4 }, alice)).body.data!.customer.invoices as Page;
    expect(nodeIds(p1)).toEqual(NEWEST_FIRST.slice(0, 4));
    expect(p1.totalCount).toBe(7);
    const p2 = (await gw.gql(CUSTOMER_INVOICES, { first: 4, after: p1.pageInfo.endCursor }, alice)).body.data!.customer.invoices as Page;
    expect(nodeIds(p2)).toEqual(NEWEST_FIRST.slice(4));
    expect(p2.pageInfo.hasNextPage).toBe(false);
    // The root field's cursors and Customer.invoices' are the same.
    const root = await page({ first: 4 });
    expect(root.edges.map((e) => e.cursor)).toEqual(p1.edges.map((e) => e.cursor));
    const voided = (await gw.gql(CUSTOMER_INVOICES, { status: 'VOID' }, alice)).body.data!.customer.invoices as Page;
    expect(nodeIds(voided)).toEqual(['in_a5']);
    expect(voided.totalCount).toBe(1);
    const bad = await gw.gql(CUSTOMER_INVOICES, { first: 1000 }, alice);
    expect(bad.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
