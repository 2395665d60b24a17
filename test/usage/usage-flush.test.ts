/**
 * `usageFlush` over HTTP: the admin sees the ledger's unsent and parked rows as they are (the
 * lifecycle gateway runs no flusher, so what is reported stays unsent); a customer is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLifecycleGateway, type LifecycleGateway } from '../lifecycle/harness.js';
import { catalogWithCappedPlan, day, errorOf, REPORT, subscribeCustomer } from './support.js';

const USAGE_FLUSH = /* GraphQL */ `{ usageFlush { backlog parked lagSeconds oldestUnsentAt } }`;

let gw: LifecycleGateway;
let admin: string;
let customer: { token: string; customerId: string };

/** The ledger read directly, not through the code under test. */
async function ledger(): Promise<{ unsent: number; parked: number; oldest: Date | null }> {
  const rows = await gw.orm.em
    .fork()
    .getConnection()
    .execute<{ unsent: string; parked: string; oldest: Date | null }[]>(
      `select count(*) filter (where parked_at is null) as unsent, count(*) filter (where parked_at is not null) as parked,
              min(created_at) filter (where parked_at is null) as oldest
         from usage_records where sent_at is null`,
    );
  const r = rows[0]!;
  return { unsent: Number(r.unsent), parked: Number(r.parked), oldest: r.oldest && new Date(r.oldest) };
}

beforeAll(async () => {
  gw = await startLifecycleGateway({ BILLING_CATALOG: catalogWithCappedPlan() });
  admin = await gw.token('ops', { role: 'admin' });
  customer = await subscribeCustomer(gw, 'flush-user', 'pro_monthly');
  await gw.advanceClock(5 * 86_400);
});
afterAll(async () => {
  await gw?.close();
});

describe('usageFlush', () => {
  it('an empty ledger answers zeros', async () => {
    const r = await gw.gql(USAGE_FLUSH, {}, admin);
    expect(r.errors).toBeUndefined();
    expect(r.data!.usageFlush).toEqual({ backlog: 0, parked: 0, lagSeconds: 0, oldestUnsentAt: null });
  });

  it('the admin gets the backlog, parked rows and lag of the ledger', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: i + 1, timestamp: day(1 + i), idempotencyKey: `flush-${i}` } }, customer.token);
      expect(r.errors).toBeUndefined();
    }
    // One row parked, as the flusher parks a permanently rejected one.
    await gw.orm.em
      .fork()
      .getConnection()
      .execute(`update usage_records set parked_at = now() where id = (select id from usage_records where customer_id = ? order by created_at desc limit 1)`, [customer.customerId]);

    const expected = await ledger();
    expect(expected).toMatchObject({ unsent: 3, parked: 1 });
    const r = await gw.gql(USAGE_FLUSH, {}, admin);
    expect(r.errors).toBeUndefined();
    const status = r.data!.usageFlush;
    expect(status).toMatchObject({ backlog: expected.unsent, parked: expected.parked, oldestUnsentAt: expected.oldest!.toISOString() });
    // The lag is the oldest unsent row's age on the database's clock, so at most the time since it was written.
    const ageNow = (Date.now() - expected.oldest!.getTime()) / 1000;
    expect(status.lagSeconds).toBeGreaterThan(0);
    expect(status.lagSeconds).toBeLessThanOrEqual(ageNow + 1);
  });

  it('a customer token is refused with FORBIDDEN, and no token with UNAUTHENTICATED', async () => {
    const asCustomer = await gw.gql(USAGE_FLUSH, {}, customer.token);
    expect(errorOf(asCustomer)?.code).toBe('FORBIDDEN');
    expect(asCustomer.data?.usageFlush ?? null).toBeNull();
    const anonymous = await gw.gql(USAGE_FLUSH, {});
    expect(errorOf(anonymous)?.code).toBe('UNAUTHENTICATED');
  });
});
