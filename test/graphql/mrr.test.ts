/** `Query.mrr` over HTTP: the incremental totals, this month's movements, and admins only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { upsertSubscription } from '../../src/stripe/mirror/index.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { subscription, type PriceSpec } from '../mirror/mrr-incremental.support.js';

let gw: TestGateway;
const catalog = loadCatalog();
const proYearly: PriceSpec = { id: 'price_pro_yearly', lookupKey: 'pro_yearly', currency: 'usd', unitAmount: 5000, interval: 'year' };
const proMonthly: PriceSpec = { id: 'price_pro', lookupKey: 'pro_monthly', currency: 'usd', unitAmount: 500, interval: 'month' };
const eurMonthly: PriceSpec = { id: 'price_eur', lookupKey: null, currency: 'eur', unitAmount: 999, interval: 'month' };

const MRR = /* GraphQL */ `{
  mrr {
    totals { amount currency formatted }
    activeSubscriptions
    byPlan { plan { id } mrr { amount currency } subscriptions }
    newThisMonth { amount currency }
    churnedThisMonth { amount currency }
    netNewThisMonth { amount currency formatted }
  }
}`;

beforeAll(async () => {
  gw = await startTestGateway();
  const now = Math.floor(Date.now() / 1000);
  const write = (s: Parameters<typeof subscription>[0]) => upsertSubscription(gw.orm.em.fork(), subscription(s), catalog);
  await write({ id: 'sub_y1', status: 'active', items: [{ price: proYearly }] });
  await write({ id: 'sub_y2', status: 'past_due', items: [{ price: proYearly }] });
  await write({ id: 'sub_e1', status: 'active', items: [{ price: eurMonthly, quantity: 2 }] });
  // Counted since last year, canceled now: churned this month.
  await write({ id: 'sub_old', status: 'active', created: now - 400 * 86_400, items: [{ price: proMonthly }] });
  await write({ id: 'sub_old', status: 'canceled', created: now - 400 * 86_400, endedAt: now, items: [{ price: proMonthly }] });
});
afterAll(() => gw?.close());

describe('Query.mrr', () => {
  it('answers the exact totals and this month’s new, churned and net new MRR per currency', async () => {
    const { body } = await gw.gql(MRR, {}, await gw.token('ops', { role: 'admin' }));
    expect(body.errors).toBeUndefined();
    expect(body.data!.mrr).toEqual({
      // 2 × 5000/12 = 833.33 → 833 (not 2 × 417); eur first: 1998 > 833.
      totals: [
        { amount: 1998, currency: 'eur', formatted: '€19.98' },
        { amount: 833, currency: 'usd', formatted: '$8.33' },
      ],
      activeSubscriptions: 3,
      byPlan: [{ plan: { id: 'pro_yearly' }, mrr: { amount: 833, currency: 'usd' }, subscriptions: 2 }],
      newThisMonth: [
        { amount: 1998, currency: 'eur' },
        { amount: 833, currency: 'usd' },
      ],
      churnedThisMonth: [{ amount: 500, currency: 'usd' }],
      netNewThisMonth: [
        { amount: 1998, currency: 'eur', formatted: '€19.98' },
        { amount: 333, currency: 'usd', formatted: '$3.33' },
      ],
    });
  });

  it('is FORBIDDEN for a customer token', async () => {
    const { body } = await gw.gql(MRR, {}, await gw.token('user_1'));
    expect(body.data).toEqual({ mrr: null });
    expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    assertNoStack(body);
  });
});
