/**
 * `Customer.accessState` over HTTP: every state of the contract's enum from mirror rows (subscriptions,
 * open dunning cases, a customer's test clock), and one batch per request however many customers a
 * page shows (the DataLoader).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, PRICES, subscription } from '../reads/fixtures.js';
import { countStatements } from '../support/db.js';

let gw: TestGateway;
let admin: string;
const DAY_MS = 86_400_000;
const WALL = Date.now();

/** A case opened `daysAgo` days before `now`, default schedule (soft suspension day 7, suspension day 8). */
async function openCase(customerId: string, invoiceId: string, openedAtMs: number): Promise<void> {
  await gw.orm.em.getConnection().execute(
    `insert into dunning_cases (id, customer_id, invoice_id, status, step, attempt, opened_at, next_step_at, soft_suspend_at, suspend_at)
     values (gen_random_uuid(), ?, ?, 'open', 0, 1, ?, null, ?, ?)`,
    [customerId, invoiceId, new Date(openedAtMs), new Date(openedAtMs + 7 * DAY_MS), new Date(openedAtMs + 8 * DAY_MS)],
  );
}

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  const sub = (id: string, customerId: string, status: 'active' | 'trialing' | 'past_due' | 'canceled') =>
    subscription(em, { id, customerId, status, planId: 'pro_monthly', price: PRICES.pro, quantity: 1, createdAt: at(100) });
  // [customer, its external id, its subscription, that subscription's status]; cus_clock is on a test
  // clock frozen two days after its failure: GRACE, although wall time is far later.
  const rows = [
    ['cus_active', 'u_active', 'sub_active', 'active'],
    ['cus_trial', 'u_trial', 'sub_trial', 'trialing'],
    ['cus_none', 'u_none', 'sub_gone', 'canceled'],
    ['cus_grace', 'u_grace', 'sub_grace', 'past_due'],
    ['cus_soft', 'u_soft', 'sub_soft', 'past_due'],
    ['cus_susp', 'u_susp', 'sub_susp', 'active'],
    ['cus_clock', 'u_clock', 'sub_clock', 'past_due'],
  ] as const;
  for (const [i, [customerId, externalId, subscriptionId, status]] of rows.entries()) {
    customer(em, customerId, externalId, at(i + 1));
    sub(subscriptionId, customerId, status);
  }
  for (let i = 0; i < 30; i++) customer(em, `cus_more_${i}`, `u_more_${i}`, at(100 + i));
  await em.flush();
  const sql = (q: string, p: unknown[] = []) => gw.orm.em.getConnection().execute(q, p);
  await openCase('cus_grace', 'in_grace', WALL - 2 * DAY_MS);
  await openCase('cus_soft', 'in_soft', WALL - 7 * DAY_MS - 60_000);
  // Two open cases: the strictest wins.
  await openCase('cus_susp', 'in_susp_old', WALL - 9 * DAY_MS);
  await openCase('cus_susp', 'in_susp_new', WALL - DAY_MS);
  const clockFailure = Date.UTC(2026, 2, 10);
  await openCase('cus_clock', 'in_clock', clockFailure);
  await sql(`insert into test_clocks (id, frozen_time, status) values ('clock_x', ?, 'ready')`, [new Date(clockFailure + 2 * DAY_MS)]);
  await sql(`update customers set test_clock = 'clock_x' where id = 'cus_clock'`);
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

const PAGE = `query ($first: Int) { customers(first: $first) { edges { node { id accessState } } } }`;

describe('Customer.accessState', () => {
  it('answers every state of the enum', async () => {
    const { body } = await gw.gql(PAGE, { first: 100 }, admin);
    expect(body.errors).toBeUndefined();
    const states = Object.fromEntries((body.data!.customers.edges as { node: { id: string; accessState: string } }[]).map((e) => [e.node.id, e.node.accessState]));
    expect(states).toMatchObject({
      cus_active: 'ACTIVE',
      cus_trial: 'TRIALING',
      cus_none: 'NONE',
      cus_grace: 'GRACE',
      cus_soft: 'SOFT_SUSPENDED',
      cus_susp: 'SUSPENDED',
      cus_clock: 'GRACE',
      cus_more_0: 'NONE',
    });
  });

  it("answers the caller's own state with a customer token", async () => {
    const { body } = await gw.gql(`{ customer { id accessState } }`, {}, await gw.token('u_soft'));
    expect(body.data).toEqual({ customer: { id: 'cus_soft', accessState: 'SOFT_SUSPENDED' } });
  });

  it('loads the states of a whole page in one batch', async () => {
    const run = async (first: number) => {
      const counted = await countStatements(gw.orm, () => gw.gql(PAGE, { first }, admin));
      expect(counted.result.body.errors).toBeUndefined();
      expect(counted.result.body.data!.customers.edges).toHaveLength(first);
      // One read of the open cases and one of the clocks (only needed when a case is open), whatever the page size.
      expect(counted.statements.filter((q) => /from dunning_cases/.test(q))).toHaveLength(1);
      expect(counted.statements.filter((q) => /join test_clocks/.test(q)).length).toBeLessThanOrEqual(1);
      return counted.count;
    };
    // The newest customers have no case; the 37 newest include all of them.
    const few = await run(3);
    const many = await run(37);
    expect(many).toBe(few + 1);
  });
});
