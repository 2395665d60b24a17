/**
 * Incremental MRR (src/billing/metrics/mrr-totals.ts) through the real mirror writer and the real
 * database triggers: exactness by hand, and the incremental totals against an independent full
 * recount after a randomised stream of changes from concurrent writers.
 */
import { seededRandom } from '@billing-gateway/stripe-emulator';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { currentMrr, fullRecountMrr } from '../../src/billing/metrics/current-mrr.js';
import type { MrrSnapshot } from '../../src/billing/metrics/mrr-snapshot.js';
import { rebuildMrrTotals, repairMrrTotals } from '../../src/db/mrr-totals.js';
import { mrrReport } from '../../src/billing/metrics/mrr-report.js';
import { compactMrrTotals, monthOf, readMrrTotals } from '../../src/billing/metrics/mrr-totals.js';
import { queryRows } from '../../src/db/sql.js';
import { fraction, roundHalfUp, sumExact, type Fraction } from '../../src/mrr/index.js';
import { Subscription, SubscriptionItem } from '../../src/db/entities/index.js';
import { upsertSubscription } from '../../src/stripe/mirror/index.js';
import { clearTables, createTestOrm, type TestOrm } from '../support/db.js';
import { createdRecently, subscription, type CouponSpec, type PriceSpec, type SubSpec } from './mrr-incremental.support.js';

const catalog = loadCatalog();
let db: TestOrm;
const em = () => db.orm.em.fork();
const write = (spec: SubSpec) => upsertSubscription(em(), subscription(spec), catalog);
const withoutAsOf = (s: MrrSnapshot) => ({ ...s, asOf: undefined });

beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(() => db?.dispose());
beforeEach(() => clearTables(db.orm));

const USD = {
  basic: { id: 'price_basic', lookupKey: 'basic_monthly', currency: 'usd', unitAmount: 100, interval: 'month' },
  pro: { id: 'price_pro', lookupKey: 'pro_monthly', currency: 'usd', unitAmount: 500, interval: 'month' },
  proYearly: { id: 'price_pro_yearly', lookupKey: 'pro_yearly', currency: 'usd', unitAmount: 5000, interval: 'year' },
  enterprise: { id: 'price_ent', lookupKey: 'enterprise', currency: 'usd', unitAmount: 99_900, interval: 'month' },
  metered: { id: 'price_calls', lookupKey: 'pro_monthly__api_calls', currency: 'usd', unitAmount: null, interval: 'month', usageType: 'metered' },
} satisfies Record<string, PriceSpec>;
const EUR = {
  weekly: { id: 'price_eur_weekly', lookupKey: null, currency: 'eur', unitAmount: 1000, interval: 'week' },
  yearly: { id: 'price_eur_yearly', lookupKey: null, currency: 'eur', unitAmount: 10_000, interval: 'year' },
  monthly: { id: 'price_eur_monthly', lookupKey: null, currency: 'eur', unitAmount: 900, interval: 'month' },
} satisfies Record<string, PriceSpec>;
/** Not on the common denominator (interval_count 13 → /156): stored with its own denominator, still exact. */
const JPY = {
  daily: { id: 'price_jpy_daily', lookupKey: null, currency: 'jpy', unitAmount: 333, interval: 'day' },
  odd: { id: 'price_jpy_odd', lookupKey: null, currency: 'jpy', unitAmount: 1000, interval: 'week', intervalCount: 13 },
  quarterly: { id: 'price_jpy_q', lookupKey: null, currency: 'jpy', unitAmount: 2999, interval: 'month', intervalCount: 3 },
} satisfies Record<string, PriceSpec>;

describe('MRR from the incremental totals', () => {
  it('two pro_yearly subscriptions: $8.33 (833 cents, not 834)', async () => {
    await write({ id: 'sub_y1', status: 'active', items: [{ price: USD.proYearly }] });
    await write({ id: 'sub_y2', status: 'active', items: [{ price: USD.proYearly }] });
    const mrr = await currentMrr(em());
    expect(mrr.currencies).toEqual([{ currency: 'usd', amount: 833, subscriptions: 2 }]);
    expect(mrr.byPlan).toEqual([{ planId: 'pro_yearly', currency: 'usd', amount: 833, subscriptions: 2 }]);
    expect(mrr.activeSubscriptions).toBe(2);
    // Each row's rounded amount is 417: summing those would give 834.
    const rows = await em().find(Subscription, {});
    expect(rows.map((r) => r.mrrAmount)).toEqual([417, 417]);
    expect(withoutAsOf(await fullRecountMrr(em()))).toEqual(withoutAsOf(mrr));
  });

  it('a mix of monthly, yearly, per-seat, percent-off-forever and trialing subscriptions in two currencies matches the hand computation', async () => {
    const future = Math.floor(Date.now() / 1000) + 14 * 86_400;
    // usd
    await write({ id: 'sub_a', status: 'active', items: [{ price: USD.basic, quantity: 3 }, { price: USD.metered }] }); // 3 × 100 = 300
    await write({ id: 'sub_b', status: 'active', items: [{ price: USD.proYearly }] }); // 5000 / 12 = 416.666…
    await write({ id: 'sub_c', status: 'past_due', items: [{ price: USD.pro, quantity: 2 }], coupon: { id: 'c25', percentOff: 25 } }); // 1000 × 0.75 = 750
    await write({ id: 'sub_d', status: 'trialing', trialEnd: future, items: [{ price: USD.proYearly }] }); // trialing: not counted
    await write({ id: 'sub_e', status: 'active', items: [{ price: USD.pro }], coupon: { id: 'c125', percentOff: 12.5 } }); // 500 × 0.875 = 437.5
    await write({ id: 'sub_f', status: 'canceled', endedAt: Math.floor(Date.now() / 1000) - 60, items: [{ price: USD.pro }] }); // canceled: not counted
    // eur
    await write({ id: 'sub_g', status: 'active', items: [{ price: EUR.weekly }] }); // 1000 × 52 / 12 = 4333.333…
    await write({ id: 'sub_h', status: 'active', items: [{ price: EUR.yearly, quantity: 3 }], coupon: { id: 'c3333', percentOff: 33.33 } }); // 30000 × 0.6667 / 12 = 1666.75
    await write({ id: 'sub_i', status: 'trialing', trialEnd: future, items: [{ price: EUR.monthly }] }); // not counted

    // usd: 300 + 1250/3 + 750 + 875/2 = (1800 + 2500 + 4500 + 2625) / 6 = 11425/6 = 1904.1666… → 1904
    //      (the rounded rows 300 + 417 + 750 + 438 would give 1905)
    // eur: 13000/3 + 20001/12 = (52000 + 20001) / 12 = 72001/12 = 6000.0833… → 6000
    // per plan (usd): pro_monthly 750 + 437.5 = 1187.5 → 1188; pro_yearly 416.67 → 417; basic_monthly 300
    const mrr = await currentMrr(em());
    expect(mrr.currencies).toEqual([
      { currency: 'eur', amount: 6000, subscriptions: 2 },
      { currency: 'usd', amount: 1904, subscriptions: 4 },
    ]);
    expect(mrr.activeSubscriptions).toBe(6);
    expect(mrr.byPlan).toEqual([
      { planId: 'pro_monthly', currency: 'usd', amount: 1188, subscriptions: 2 },
      { planId: 'pro_yearly', currency: 'usd', amount: 417, subscriptions: 1 },
      { planId: 'basic_monthly', currency: 'usd', amount: 300, subscriptions: 1 },
    ]);
    expect(withoutAsOf(await fullRecountMrr(em()))).toEqual(withoutAsOf(mrr));

    // All counting ones were created a minute ago (or at the month's start): all new this month; none churned (sub_f never counted here).
    const report = await mrrReport(em());
    expect(report.newThisMonth).toEqual([{ currency: 'eur', amount: 6000 }, { currency: 'usd', amount: 1904 }]);
    expect(report.churnedThisMonth).toEqual([]);
  });

  it('new, churned and net new this month follow starts and stops, and a reactivation is no longer churn', async () => {
    const now = Math.floor(Date.now() / 1000);
    const lastYear = now - 400 * 86_400;
    // Counting since last year: not new. Then it churns now.
    await write({ id: 'sub_old', status: 'active', created: lastYear, items: [{ price: USD.pro, quantity: 2 }] });
    // Started now: new (at its current amount).
    const recently = createdRecently();
    await write({ id: 'sub_new', status: 'incomplete', created: recently, items: [{ price: USD.proYearly }] });
    let r = await mrrReport(em());
    expect(r.newThisMonth).toEqual([]);
    await write({ id: 'sub_new', status: 'active', created: recently, items: [{ price: USD.proYearly }] });
    await write({ id: 'sub_old', status: 'canceled', created: lastYear, endedAt: now, items: [{ price: USD.pro, quantity: 2 }] });
    r = await mrrReport(em());
    expect(r.totals).toEqual([{ currency: 'usd', amount: 417 }]);
    expect(r.newThisMonth).toEqual([{ currency: 'usd', amount: 417 }]);
    expect(r.churnedThisMonth).toEqual([{ currency: 'usd', amount: 1000 }]);
    expect(r.netNewThisMonth).toEqual([{ currency: 'usd', amount: -583 }]); // 416.67 − 1000 = −583.33 → −583
    // unpaid → active again: not churned any more; a trialing one is not new.
    await write({ id: 'sub_old', status: 'active', created: lastYear, items: [{ price: USD.pro, quantity: 2 }] });
    await write({ id: 'sub_trial', status: 'trialing', trialEnd: now + 86_400, items: [{ price: USD.pro }] });
    r = await mrrReport(em());
    expect(r.churnedThisMonth).toEqual([]);
    expect(r.newThisMonth).toEqual([{ currency: 'usd', amount: 417 }]);
    expect(r.netNewThisMonth).toEqual([{ currency: 'usd', amount: 417 }]);
    // A deleted row leaves every total.
    await em().nativeDelete(Subscription, { id: 'sub_new' });
    r = await mrrReport(em());
    expect(r.newThisMonth).toEqual([]);
    expect(r.totals).toEqual([{ currency: 'usd', amount: 1000 }]);
  });

  it('a value off the common denominator (interval_count 13) stays exact', async () => {
    await write({ id: 'sub_j1', status: 'active', items: [{ price: JPY.odd }] }); // 1000 × 52 / 12 / 13 = 1000/3 = 333.33…
    await write({ id: 'sub_j2', status: 'active', items: [{ price: JPY.odd }] });
    await write({ id: 'sub_j3', status: 'active', items: [{ price: JPY.odd, quantity: 1 }], coupon: { id: 'c1', percentOff: 0.01 } });
    // 1000/3 × 2 + 1000/3 × 0.9999 = (2000 + 999.9) / 3 = 999.9666… → 1000
    expect((await currentMrr(em())).currencies).toEqual([{ currency: 'jpy', amount: 1000, subscriptions: 3 }]);
    expect(withoutAsOf(await fullRecountMrr(em()))).toEqual(withoutAsOf(await currentMrr(em())));
  });
});

describe('repair', () => {
  it('repairMrrTotals (sync --full) finds totals that bypassed the triggers and rebuilds them; leaves good ones alone', async () => {
    await write({ id: 'sub_r1', status: 'active', items: [{ price: USD.pro, quantity: 3 }] });
    await write({ id: 'sub_r2', status: 'past_due', items: [{ price: EUR.yearly }] });
    expect(await repairMrrTotals(em())).toBe(false);
    const good = withoutAsOf(await currentMrr(em()));
    await queryRows(em(), `delete from mrr_totals where currency = 'eur'`);
    expect(withoutAsOf(await currentMrr(em()))).not.toEqual(good);
    expect(await repairMrrTotals(em())).toBe(true);
    expect(withoutAsOf(await currentMrr(em()))).toEqual(good);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The randomised stream.


const PRICES: PriceSpec[] = [...Object.values(USD).filter((p: PriceSpec) => p.usageType !== 'metered'), ...Object.values(EUR), ...Object.values(JPY)];
const COUPONS: (CouponSpec | null)[] = [null, null, { id: 'p25', percentOff: 25 }, { id: 'p12_5', percentOff: 12.5 }, { id: 'p33_33', percentOff: 33.33 }, { id: 'a200', amountOff: 200, currency: 'usd' }, { id: 'a100eur', amountOff: 100, currency: 'eur' }];
const STATUSES: Stripe.Subscription.Status[] = ['active', 'active', 'active', 'past_due', 'trialing', 'incomplete', 'canceled', 'unpaid', 'paused'];

/**
 * Exact new/churned per currency this month, straight from the customers' movements (the rollups they
 * feed, written by concurrent triggers and compacted meanwhile, checked against them).
 */
async function movementsFromHistory(): Promise<{ new: Record<string, number>; churned: Record<string, number> }> {
  const month = monthOf(new Date());
  const rows = await queryRows<{ currency: string; kind: string; b: string; a: string; d: string }>(
    em(),
    `select currency, kind, before_num::text as b, after_num::text as a, denominator::text as d from mrr_movements
     where kind in ('new', 'churn') and at >= ? and at < ?`,
    [month, new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1))],
  );
  const acc = { new: new Map<string, Fraction[]>(), churned: new Map<string, Fraction[]>() };
  for (const r of rows) {
    const into = r.kind === 'new' ? acc.new : acc.churned;
    into.set(r.currency, [...(into.get(r.currency) ?? []), fraction(BigInt(r.kind === 'new' ? r.a : r.b), BigInt(r.d))]);
  }
  const round = (m: Map<string, Fraction[]>) => Object.fromEntries([...m].map(([c, fs]) => [c, roundHalfUp(sumExact(fs))]));
  return { new: round(acc.new), churned: round(acc.churned) };
}

/** `when` names the comparison in a failure (after the writers, after compaction, after a rebuild). */
async function expectTotalsMatchRecount(when: string): Promise<void> {
  const incremental = await readMrrTotals(em());
  const recount = await fullRecountMrr(em());
  expect(withoutAsOf(incremental.snapshot), `${when}: totals vs recount`).toEqual(withoutAsOf(recount));
  const expected = await movementsFromHistory();
  expect(Object.fromEntries(incremental.movements.newThisMonth.map((m) => [m.currency, m.amount])), `${when}: new this month`).toEqual(expected.new);
  expect(Object.fromEntries(incremental.movements.churnedThisMonth.map((m) => [m.currency, m.amount])), `${when}: churned this month`).toEqual(expected.churned);
}

const STREAM = Number(process.env.MRR_STREAM_CHANGES ?? (process.env.TEST_DATABASE_URL ? 10_000 : 1_500));

describe('incremental totals against a full recount', () => {
  it(`stay equal through ${STREAM.toLocaleString('en-US')} random changes from 4 concurrent writers (and concurrent compactions)`, { timeout: 600_000 }, async () => {
    const seed = Number(process.env.MRR_STREAM_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed); // replayable with MRR_STREAM_SEED
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const now = Math.floor(Date.now() / 1000);
    const specs = new Map<string, SubSpec>();
    let next = 0;

    /** One random change, as the Stripe side would send it (or a delete of the mirror row). */
    function change(): { spec: SubSpec } | { delete: string } {
      const ids = [...specs.keys()];
      const roll = random();
      if (ids.length < 50 || roll < 0.25) {
        const p = pick(PRICES);
        const spec: SubSpec = {
          id: `sub_r${next++}`,
          status: pick(STATUSES),
          created: now - Math.floor(random() * 90 * 86_400),
          items: [{ price: p, quantity: 1 + Math.floor(random() * 5) }, ...(random() < 0.2 && p.currency === 'usd' ? [{ price: USD.metered }] : [])],
          coupon: pick(COUPONS),
        };
        specs.set(spec.id, spec);
        return { spec };
      }
      const id = pick(ids);
      const old = specs.get(id)!;
      if (roll < 0.3) {
        specs.delete(id);
        return { delete: id };
      }
      const spec: SubSpec = structuredClone(old);
      if (roll < 0.45) {
        // Plan change within the currency (Stripe keeps a subscription's currency).
        spec.items[0]!.price = pick(PRICES.filter((p) => p.currency === old.items[0]!.price.currency));
      } else if (roll < 0.6) spec.items[0]!.quantity = 1 + Math.floor(random() * 20);
      else if (roll < 0.7) spec.coupon = pick(COUPONS);
      else if (roll < 0.8) {
        spec.status = 'canceled';
        spec.endedAt = now - Math.floor(random() * 3600);
      } else spec.status = pick(STATUSES);
      specs.set(id, spec);
      return { spec };
    }

    const changes = Array.from({ length: STREAM }, change);
    const WRITERS = Number(process.env.MRR_STREAM_WRITERS ?? 4);
    let cursor = 0;
    let compactions = 0;
    const writer = async () => {
      for (let i = cursor++; i < changes.length; i = cursor++) {
        const c = changes[i]!;
        if ('delete' in c) {
          // The subscription row first, as the mirror writer locks it: the same lock order, no deadlock.
          // Its items only when that deleted the row. (The mirror never deletes subscriptions; this is the
          // test's own writer.) Under READ COMMITTED a delete does not see, nor wait for, the uncommitted
          // first insert of the same subscription by another writer, but the items delete, a later
          // statement, would see its items once it commits: deleting them anyway left a subscription row
          // (counted with its stored MRR by the totals) without items (0 in the recount).
          await em().transactional(async (tx) => {
            if ((await tx.nativeDelete(Subscription, { id: c.delete })) > 0) await tx.nativeDelete(SubscriptionItem, { subscriptionId: c.delete });
          });
        } else {
          await write(c.spec);
        }
        if (i % 500 === 499) {
          compactions++;
          await em().transactional((tx) => compactMrrTotals(tx));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: WRITERS }, writer));
      // Every spec has items: a subscription row without any is a write (or delete) race, whatever its status.
      expect(
        await queryRows(em(), `select s.id, s.status from subscriptions s where not exists (select 1 from subscription_items i where i.subscription_id = s.id)`),
        'subscriptions without items',
      ).toEqual([]);
      await expectTotalsMatchRecount('after the writers');
      expect(compactions).toBeGreaterThan(0);
      await em().transactional((tx) => compactMrrTotals(tx));
      await expectTotalsMatchRecount('after a final compaction');
      await rebuildMrrTotals(em());
      await expectTotalsMatchRecount('after a rebuild');
      const snapshot = await currentMrr(em());
      // The stream must have left something to compare in every currency.
      expect(snapshot.currencies.map((c) => c.currency).sort()).toEqual(['eur', 'jpy', 'usd']);
    } catch (err) {
      throw new Error(`seed ${seed}: ${(err as Error).message}`, { cause: err });
    }
  });
});
