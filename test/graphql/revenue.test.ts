/** `Query.revenue` over HTTP: figures of two months (a trial converting at its end included), admins only, input checks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { upsertSubscription } from '../../src/stripe/mirror/index.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { subscription, type PriceSpec } from '../mirror/mrr-incremental.support.js';

let gw: TestGateway;
const catalog = loadCatalog();
const proYearly: PriceSpec = { id: 'price_pro_yearly', lookupKey: 'pro_yearly', currency: 'usd', unitAmount: 5000, interval: 'year' };
const proMonthly: PriceSpec = { id: 'price_pro', lookupKey: 'pro_monthly', currency: 'usd', unitAmount: 500, interval: 'month' };
const basic: PriceSpec = { id: 'price_basic', lookupKey: 'basic_monthly', currency: 'usd', unitAmount: 100, interval: 'month' };
const at = (iso: string) => Date.parse(iso) / 1000;

const REVENUE = /* GraphQL */ `query ($from: DateTime!, $to: DateTime!, $interval: MetricInterval, $currency: String) {
  revenue(from: $from, to: $to, interval: $interval, currency: $currency) {
    periodStart periodEnd currency
    mrr { amount formatted } newMrr { amount } expansionMrr { amount } contractionMrr { amount } churnedMrr { amount }
    reactivationMrr { amount } netNewMrr { amount formatted }
    customers newCustomers churnedCustomers reactivatedCustomers arpa { amount }
    customerChurnRate grossMrrChurnRate netRevenueRetention
  }
}`;

beforeAll(async () => {
  gw = await startTestGateway();
  const write = (s: Parameters<typeof subscription>[0]) => upsertSubscription(gw.orm.em.fork(), subscription(s), catalog);
  await write({ id: 'sub_r1', status: 'active', created: at('2025-01-10T00:00:00Z'), items: [{ price: proMonthly }] });
  await write({ id: 'sub_r2', status: 'canceled', created: at('2025-01-20T00:00:00Z'), endedAt: at('2025-02-05T00:00:00Z'), items: [{ price: proYearly }] });
  // A trial from January 25 converting on February 8: new in February, not January.
  await write({ id: 'sub_r3', status: 'active', created: at('2025-01-25T00:00:00Z'), trialEnd: at('2025-02-08T00:00:00Z'), items: [{ price: basic, quantity: 2 }] });
});
afterAll(() => gw?.close());

describe('Query.revenue', () => {
  it('answers every figure of each month, exact and rounded once, chaining from one point to the next', async () => {
    const { body } = await gw.gql(REVENUE, { from: '2025-01-01T00:00:00Z', to: '2025-03-01T00:00:00Z' }, await gw.token('ops', { role: 'admin' }));
    expect(body.errors).toBeUndefined();
    const zero = { amount: 0 };
    expect(body.data!.revenue).toEqual([
      {
        periodStart: '2025-01-01T00:00:00.000Z', periodEnd: '2025-02-01T00:00:00.000Z', currency: 'usd',
        // 500 + 5000/12 = 916.67 → 917
        mrr: { amount: 917, formatted: '$9.17' }, newMrr: { amount: 917 }, expansionMrr: zero, contractionMrr: zero, churnedMrr: zero,
        reactivationMrr: zero, netNewMrr: { amount: 917, formatted: '$9.17' },
        customers: 2, newCustomers: 2, churnedCustomers: 0, reactivatedCustomers: 0, arpa: { amount: 458 },
        customerChurnRate: null, grossMrrChurnRate: null, netRevenueRetention: null,
      },
      {
        periodStart: '2025-02-01T00:00:00.000Z', periodEnd: '2025-03-01T00:00:00.000Z', currency: 'usd',
        mrr: { amount: 700, formatted: '$7.00' }, newMrr: { amount: 200 }, expansionMrr: zero, contractionMrr: zero, churnedMrr: { amount: 417 },
        reactivationMrr: zero, netNewMrr: { amount: -217, formatted: '-$2.17' },
        customers: 2, newCustomers: 1, churnedCustomers: 1, reactivatedCustomers: 0, arpa: { amount: 350 },
        // 1 of 2 customers; (1250/3) ÷ (2750/3); the 500 kept of 2750/3
        customerChurnRate: 0.5, grossMrrChurnRate: 1250 / 2750, netRevenueRetention: 1500 / 2750,
      },
    ]);
  });

  it('one currency, DAY points, and zero points for a currency with no history', async () => {
    const token = await gw.token('ops', { role: 'admin' });
    const days = await gw.gql(REVENUE, { from: '2025-02-04T12:00:00Z', to: '2025-02-06T00:00:00Z', interval: 'DAY', currency: 'USD' }, token);
    expect((days.body.data!.revenue as { periodStart: string; mrr: { amount: number }; churnedMrr: { amount: number } }[]).map((p) => [p.periodStart, p.mrr.amount, p.churnedMrr.amount])).toEqual([
      ['2025-02-04T00:00:00.000Z', 917, 0],
      ['2025-02-05T00:00:00.000Z', 500, 417],
    ]);
    const eur = await gw.gql(REVENUE, { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z', currency: 'eur' }, token);
    expect(eur.body.data!.revenue).toEqual([expect.objectContaining({ currency: 'eur', mrr: { amount: 0, formatted: '€0.00' }, customers: 0, arpa: { amount: 0 } })]);
  });

  it('is FORBIDDEN for a customer token, and refuses an empty range naming the field', async () => {
    const forbidden = await gw.gql(REVENUE, { from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' }, await gw.token('user_1'));
    expect(forbidden.body.data).toEqual({ revenue: null }); // the contract types the list as nullable
    expect(forbidden.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const bad = await gw.gql(REVENUE, { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, await gw.token('ops', { role: 'admin' }));
    expect(bad.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    assertNoStack(bad.body);
  });
});
