/**
 * How a customer read talks to PostgreSQL: which statements, with which columns and parameters, and
 * invoice pages (with their lines in the same statement) that stay right at page boundaries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchInvoicePageRows } from '../../src/billing/invoices/invoice-queries.js';
import { countStatements } from '../support/db.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice, PRICES, subscription } from './fixtures.js';

let gw: TestGateway;
let admin: string;

/** The bench's customer read. */
const READ = /* GraphQL */ `
  query ($id: ID, $first: Int, $after: String) {
    customer(id: $id) {
      subscriptions { plan { id } }
      invoices(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id total { amount } lines { description amount { amount } } } }
      }
    }
  }
`;

// cus_n has n invoices (0..6), two lines each; in_<n>_2 and in_<n>_3 share a second (the id breaks the tie).
const seconds = (i: number) => (i === 3 ? 2 : i) * 10;
const newestFirst = (n: number) =>
  Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => seconds(b) - seconds(a) || (`in_${n}_${b}` > `in_${n}_${a}` ? 1 : -1))
    .map((i) => `in_${n}_${i}`);

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  for (let n = 0; n <= 6; n++) {
    const cus = `cus_${n}`;
    customer(em, cus, `user_${n}`, at(n));
    subscription(em, { id: `sub_${n}`, customerId: cus, status: 'active', planId: 'basic_monthly', price: PRICES.basic, quantity: 1, createdAt: at(n) });
    for (let i = 0; i < n; i++) {
      invoice(em, {
        id: `in_${n}_${i}`, customerId: cus, total: 100 * n + i, createdAt: at(1000 + seconds(i)),
        lines: [{ description: `first of ${i}`, amount: i }, { description: `second of ${i}`, amount: 1000 + i }],
      });
    }
  }
  // A subscription to a price outside the catalog: its plan comes from the price in its items.
  customer(em, 'cus_np', 'user_np', at(60));
  subscription(em, { id: 'sub_np', customerId: 'cus_np', status: 'active', planId: null, price: { id: 'price_custom', lookupKey: 'custom_lk', unitAmount: 700, interval: 'month' }, quantity: 1, createdAt: at(60) });
  // An id that needs quoting when inlined (the transaction path).
  customer(em, 'cus_q"\\', 'user_q', at(50));
  invoice(em, { id: 'in_q', customerId: 'cus_q"\\', total: 1, createdAt: at(2000), lines: [{ description: 'q', amount: 1 }] });
  await em.flush();
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

type Page = { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; total: { amount: number }; lines: { description: string; amount: { amount: number } }[] } }[] };

async function read(id: string, first: number, after?: string | null) {
  const counted = await countStatements(gw.orm, () => gw.gql(READ, { id, first, after }, admin));
  const { body } = counted.result;
  expect(body.errors).toBeUndefined();
  return { statements: counted.statements, customer: body.data!.customer as { subscriptions: { plan: { id: string } }[]; invoices: Page } };
}

describe('the customer read', () => {
  it('is one parameterised statement: the customer with its subscriptions and its invoice page with lines', async () => {
    const { statements, customer } = await read('cus_5', 10);
    expect(customer.subscriptions).toEqual([{ plan: { id: 'basic_monthly' } }]);
    expect(customer.invoices.edges.map((e) => e.node.id)).toEqual(newestFirst(5));
    expect(statements).toHaveLength(1);
    const [sql] = statements as [string];
    // Values travel as parameters ($1 … on PostgreSQL, where the statement is prepared once and reused;
    // PGlite's driver shows them as ?), never inlined.
    const pglite = gw.orm.config.get('driver')?.name === 'PgliteDriver';
    const param = pglite ? '\\?' : '\\$\\d+';
    expect(sql).toMatch(pglite ? /\?/ : /\$1\b/);
    expect(sql).not.toMatch(/'cus_5'/);
    // No ranking of the customer's whole history: its newest first + 1 invoices only.
    expect(sql).not.toMatch(/row_number|over \(/i);
    expect(sql).toMatch(new RegExp(`limit ${param}`));
    // Stored Stripe objects stay in the database: nothing selects `*` or `raw`; `plan { id }` reads
    // the subscription items only of a subscription without a catalog plan.
    expect(sql).not.toMatch(/\*/);
    expect(sql).not.toMatch(/\b[cipl]\.raw\b/);
    expect(sql.match(/raw->/g)).toEqual(['raw->']);
    expect(sql).toMatch(/case when s\.plan_id is null then jsonb_build_object\('items', s\.raw->'items'\) end/);
    // Only the columns the selection reads (and the keys and amounts every node is built from).
    const selected = (alias: string) => [...new Set([...sql.matchAll(new RegExp(`\\b${alias}\\.([a-z_]+)`, 'g'))].map((m) => m[1]))].sort();
    expect(selected('s')).toEqual(['created_at', 'customer_id', 'id', 'plan_id', 'price_id', 'raw'].sort());
    expect(selected('i')).toEqual(['created_at', 'currency', 'customer_id', 'id', 'total'].sort());
    expect(selected('l')).toEqual(['amount', 'currency', 'description', 'invoice_id', 'position'].sort());
    // A subscription without a catalog plan still gets its plan from its items.
    expect((await read('cus_np', 10)).customer.subscriptions).toEqual([{ plan: { id: 'custom_lk' } }]);
  });

  it('reads the columns any field of the operation needs, and every column for fields that read whole rows', async () => {
    const q = /* GraphQL */ `
      query ($id: ID) {
        customer(id: $id) {
          subscriptions { ...S }
          invoices(first: 2) { edges { node { ... on Invoice { periodStart hostedInvoiceUrl lines { periodEnd proration } } } } }
        }
      }
      fragment S on BillingSubscription { currentPeriodEnd cancelAt plan { id name } }
    `;
    const counted = await countStatements(gw.orm, () => gw.gql(q, { id: 'cus_5' }, admin));
    expect(counted.result.body.errors).toBeUndefined();
    const c = counted.result.body.data!.customer;
    expect(c.subscriptions).toEqual([{ currentPeriodEnd: new Date(at(5).getTime() + 30 * 86_400_000).toISOString(), cancelAt: null, plan: { id: 'basic_monthly', name: expect.any(String) } }]);
    expect(c.invoices.edges).toHaveLength(2);
    const [sql] = counted.statements as [string];
    expect(sql).toMatch(/\bs\.current_period_end\b/);
    expect(sql).toMatch(/\bs\.current_period_start\b/);
    expect(sql).toMatch(/\bs\.cancel_at\b/);
    expect(sql).not.toMatch(/\bs\.trial_end\b/);
    // A plan field beyond its id may come from the price in the items: read them for every row.
    expect(sql).toMatch(/, jsonb_build_object\('items', s\.raw->'items'\)\)/);
    expect(sql).toMatch(/\bi\.period_start\b/);
    expect(sql).toMatch(/\bi\.hosted_invoice_url\b/);
    expect(sql).not.toMatch(/\bi\.invoice_pdf\b/);
    expect(sql).toMatch(/\bl\.period_end\b/);
    expect(sql).toMatch(/\bl\.proration\b/);
    expect(sql).not.toMatch(/\bl\.description\b/);

    // `mrr` reads the whole subscription rows: every column (but `raw`, of which the items).
    const mrr = await countStatements(gw.orm, () => gw.gql(`{ customer(id: "cus_5") { mrr { amount } subscriptions { id } } }`, {}, admin));
    expect(mrr.result.body.errors).toBeUndefined();
    expect(mrr.result.body.data!.customer.mrr.amount).toBe(PRICES.basic.unitAmount);
    const [wide] = mrr.statements as [string];
    expect(wide).toMatch(/\bs\.mrr_numerator\b/);
    expect(wide).toMatch(/\bs\.discount\b/);
    expect(wide).toMatch(/, jsonb_build_object\('items', s\.raw->'items'\)\)/);
  });

  it('reads a customer token\'s own customer in one statement too, and other page shapes right', async () => {
    const token = await gw.token('user_6');
    const q = /* GraphQL */ `
      query ($after: String) {
        customer {
          id
          subscriptions { id }
          invoices(first: 2, after: $after) { totalCount edges { node { id } } }
          paid: invoices(first: 1, status: PAID) { edges { node { id lines { amount { amount } } } } }
        }
      }
    `;
    const first = await countStatements(gw.orm, () => gw.gql(q, {}, token));
    expect(first.result.body.errors).toBeUndefined();
    const c = first.result.body.data!.customer;
    expect(c.id).toBe('cus_6');
    expect(c.subscriptions).toEqual([{ id: 'sub_6' }]);
    expect(c.invoices.edges.map((e: any) => e.node.id)).toEqual(newestFirst(6).slice(0, 2));
    expect(c.invoices.totalCount).toBe(6);
    expect(c.paid.edges).toEqual([{ node: { id: newestFirst(6)[0], lines: [{ amount: { amount: 5 } }, { amount: { amount: 1005 } }] } }]);
    // The customer with its subscriptions and first page; then totalCount and the second alias, side by side.
    expect(first.count).toBe(3);
    expect(first.statements.filter((s) => /from customers/.test(s))).toHaveLength(1);
    const cursor = Buffer.from(`${at(1000 + seconds(4)).getTime()}:in_6_4`).toString('base64url');
    const after = await gw.gql(q, { after: cursor }, token);
    expect(after.body.data!.customer.invoices.edges.map((e: any) => e.node.id)).toEqual(['in_6_3', 'in_6_2']);
  });

  it('gives MRR and subscriptions from the one statement as from the loaders of a list', async () => {
    const q = (field: string) => `{ ${field} { mrr { amount currency } subscriptions { id plan { id } } } }`;
    const alone = await countStatements(gw.orm, () => gw.gql(q('customer(id: "cus_4")'), {}, admin));
    expect(alone.count).toBe(1);
    const listed = await gw.gql(`{ customers(first: 100) { edges { node { id mrr { amount currency } subscriptions { id plan { id } } } } } }`, {}, admin);
    const fromList = (listed.body.data!.customers.edges as any[]).find((e) => e.node.id === 'cus_4').node;
    const { id: _id, ...expected } = fromList;
    expect(alone.result.body.data!.customer).toEqual(expected);
    expect(expected.mrr.amount).toBe(PRICES.basic.unitAmount);
  });

  it('pages every customer right at the page boundary, each invoice with its own lines in order', async () => {
    for (let n = 0; n <= 6; n++) {
      const all = newestFirst(n);
      for (const first of [1, 2, 3, 5, 6, 7]) {
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const { customer } = await read(`cus_${n}`, first, after);
          const page = customer.invoices;
          const ids = page.edges.map((e) => e.node.id);
          expect(ids).toEqual(all.slice(seen.length, seen.length + first));
          for (const { node } of page.edges) {
            const i = Number(node.id.split('_')[2]);
            expect(node.total.amount).toBe(100 * n + i);
            expect(node.lines).toEqual([
              { description: `first of ${i}`, amount: { amount: i } },
              { description: `second of ${i}`, amount: { amount: 1000 + i } },
            ]);
          }
          seen.push(...ids);
          expect(page.pageInfo.hasNextPage).toBe(seen.length < n);
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(seen).toEqual(all);
      }
    }
  });

  it('answers many customers of one page shape with one statement, and the same inside a transaction', async () => {
    const reader = gw.orm.em.fork();
    const keys = [6, 0, 3, 5].map((n) => ({ customerId: `cus_${n}`, status: null, first: 2, after: null, withLines: true }));
    keys.push({ customerId: 'cus_q"\\', status: null, first: 2, after: null, withLines: true });
    const pooled = await countStatements(gw.orm, () => batchInvoicePageRows(reader, keys));
    expect(pooled.count).toBe(1);
    const ids = pooled.result.map((p) => p.rows.map((r) => r.id));
    expect(ids).toEqual([newestFirst(6).slice(0, 3), [], newestFirst(3), newestFirst(5).slice(0, 3), ['in_q']]);
    expect(pooled.result[0]!.lines![0]!.map((l) => l.description)).toEqual(['first of 5', 'second of 5']);
    // In a transaction the statement joins it (values inlined, the quoted id included): same answer.
    const inTx = await gw.orm.em.fork().transactional((em) => batchInvoicePageRows(em, keys));
    expect(inTx.map((p) => p.rows.map((r) => r.id))).toEqual(ids);
    expect(inTx.map((p) => p.lines)).toEqual(pooled.result.map((p) => p.lines));
  });
});
