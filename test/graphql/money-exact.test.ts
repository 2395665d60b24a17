/** Money.amountString carries totals beyond a GraphQL Int exactly (Query.mrr over HTTP). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { upsertSubscription } from '../../src/stripe/mirror/index.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { subscription, type PriceSpec } from '../mirror/mrr-incremental.support.js';

let gw: TestGateway;
// Each subscription's MRR fits a 32-bit column; their sum does not fit a GraphQL Int.
const prices: PriceSpec[] = [2_000_000_001, 2_000_000_003, 1_999_999_999].map((unitAmount, i) => ({ id: `price_gbp_${i}`, lookupKey: null, currency: 'gbp', unitAmount, interval: 'month' }));

beforeAll(async () => {
  gw = await startTestGateway();
  for (const [i, price] of prices.entries()) await upsertSubscription(gw.orm.em.fork(), subscription({ id: `sub_big_${i}`, status: 'active', items: [{ price }] }), loadCatalog());
});
afterAll(() => gw?.close());

describe('Money.amountString', () => {
  it('is exact for an MRR total above 2^31 minor units', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const { body } = await gw.gql(`{ mrr { totals { amountString currency } } }`, {}, admin);
    expect(body.errors).toBeUndefined();
    // 2,000,000,001 + 2,000,000,003 + 1,999,999,999 = 6,000,000,003 > 2^31 − 1.
    expect(body.data!.mrr.totals).toEqual([{ amountString: '6000000003', currency: 'gbp' }]);
  });

  it('amount (a 32-bit Int) fails alone for it, and says so, while amountString beside it is answered', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const { body } = await gw.gql(`{ plans { id } mrr { totals { amount } } }`, {}, admin);
    expect(body.data!.plans.length).toBeGreaterThan(0);
    expect(body.data!.mrr).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.path).toEqual(['mrr', 'totals', 0, 'amount']);
  });
});
