import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../support/db.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice, PRICES, subscription } from './fixtures.js';

let gw: TestGateway;
let admin: string;

const CUSTOMERS = 60;
const QUERY = /* GraphQL */ `
  query ($first: Int) {
    customers(first: $first) {
      edges {
        node {
          subscriptions { plan { id } latestInvoice { lines { amount { amount } } } }
          invoices(first: 5) { edges { node { id } } }
        }
      }
    }
  }
`;

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  for (let c = 0; c < CUSTOMERS; c++) {
    const cus = `cus_${String(c).padStart(3, '0')}`;
    customer(em, cus, `user_${c}`, at(c));
    // Two subscriptions, each with a latest invoice of two lines.
    // The old one's latest invoice is not among the five newest (so it is loaded by id, not found in a page).
    subscription(em, {
      id: `sub_${c}_old`, customerId: cus, status: 'canceled', planId: 'basic_monthly', price: PRICES.basic, quantity: 1, createdAt: at(1000 + c),
      latestInvoiceId: `in_${c}_0`,
    });
    subscription(em, {
      id: `sub_${c}_new`, customerId: cus, status: 'active', planId: c % 2 ? 'pro_monthly' : 'pro_yearly', price: c % 2 ? PRICES.pro : PRICES.proYearly,
      quantity: 2, createdAt: at(2000 + c), latestInvoiceId: `in_${c}_6`,
    });
    for (let i = 0; i < 7; i++) {
      invoice(em, {
        id: `in_${c}_${i}`, customerId: cus, subscriptionId: `sub_${c}_new`, total: 1000 + i, createdAt: at(3000 + i * 100 + c),
        lines: [
          { description: 'seats', amount: 1000, quantity: 2 },
          { description: 'usage', amount: i, quantity: i },
        ],
      });
    }
  }
  await em.flush();
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

async function run(first: number) {
  const counted = await countStatements(gw.orm, () => gw.gql(QUERY, { first }, admin));
  const { body } = counted.result;
  expect(body.errors).toBeUndefined();
  return { count: counted.count, statements: counted.statements, edges: body.data!.customers.edges as any[] };
}

describe('DataLoader batching', () => {
  it('runs the same number of SQL statements for 5 customers as for 50', async () => {
    const five = await run(5);
    const fifty = await run(50);
    expect(five.edges).toHaveLength(5);
    expect(fifty.edges).toHaveLength(50);
    expect(fifty.count).toBe(five.count);
    // customers page + count, subscriptions, plan prices, latest invoices, their lines, invoice pages.
    // (Far from one per customer: 5 customers → 6–7 statements, and so for 50.)
    expect(fifty.count).toBeLessThanOrEqual(8);
    // …and the answers are whole: every customer's two subscriptions and its five newest invoices.
    for (const edge of fifty.edges) {
      const node = edge.node;
      expect(node.subscriptions).toHaveLength(2);
      expect(node.subscriptions[0].latestInvoice.lines.map((l: any) => l.amount.amount)).toEqual([1000, 6]);
      expect(node.subscriptions[1].latestInvoice.lines.map((l: any) => l.amount.amount)).toEqual([1000, 0]);
      const ids = node.invoices.edges.map((e: any) => e.node.id as string);
      const c = ids[0]!.split('_')[1];
      expect(ids).toEqual([6, 5, 4, 3, 2].map((i) => `in_${c}_${i}`));
    }
  });

  it('batches totalCount, the status filter and Customer.mrr too', async () => {
    const q = /* GraphQL */ `
      query ($first: Int) {
        customers(first: $first) {
          edges { node { mrr { amount } invoices(first: 2, status: PAID) { totalCount edges { node { id subscription { id } customer { id } } } } } }
        }
      }
    `;
    const count = async (first: number) => {
      const counted = await countStatements(gw.orm, () => gw.gql(q, { first }, admin));
      expect(counted.result.body.errors).toBeUndefined();
      return { n: counted.count, edges: counted.result.body.data!.customers.edges as any[] };
    };
    const five = await count(5);
    const fifty = await count(50);
    expect(fifty.n).toBe(five.n);
    for (const { node } of fifty.edges) {
      expect(node.invoices.totalCount).toBe(7);
      expect(node.invoices.edges).toHaveLength(2);
    }
    // Customer 59 (odd: pro_monthly × 2 = 1000), customer 58 (pro_yearly × 2 = 10000 / 12 = 833.33 → 833).
    expect(fifty.edges[0].node.mrr.amount).toBe(1000);
    expect(fifty.edges[1].node.mrr.amount).toBe(833);
  });
});
