/**
 * The revenue history of one scenario on one test clock (made in the emulator through the SDK), with
 * every figure of both months asserted exactly, and the same history whatever the delivery order:
 * in order, shuffled, with duplicates, in batches, and from `sync --full` into an empty database.
 *
 * March: A takes basic, then moves to pro (new $1, expansion $4); B takes pro and cancels at once
 * (new $5, churn $5); C takes pro × 3, then × 2 (new $15, contraction $5); D takes pro_yearly
 * (new $4.1666…). April: B comes back (reactivation $5).
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMrrTotals } from '../../src/billing/metrics/mrr-totals.js';
import { fraction } from '../../src/mrr/index.js';
import { compactRevenueRollups, rebuildRevenueRollups, revenueReport, type RevenuePointData } from '../../src/billing/metrics/revenue.js';
import type { Orm } from '../../src/db/orm.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { syncFull } from '../../src/stripe/sync/full.js';
import { isHandledEventType } from '../../src/stripe/sync/handlers.js';
import { createTestOrm } from '../support/db.js';
import { allEvents, DAY, gateway, planPrice, seeded, shuffled, stripeSide, withDuplicatesAndReplays, type StripeSide } from '../webhooks/support.js';
import { advanceClock } from '../support/test-clock.js';

let side: StripeSide;
let events: Stripe.Event[];
let baseline: { movements: unknown[]; points: RevenuePointData[] };

const MARCH = Date.UTC(2026, 2, 1) / 1000;
const APRIL = new Date(Date.UTC(2026, 3, 1));
const MAY = new Date(Date.UTC(2026, 4, 1));
const HOUR = 3600;

async function customer(stripe: Stripe, clock: string, name: string): Promise<Stripe.Customer> {
  const c = await stripe.customers.create({ name, email: `${name}@example.com`, test_clock: clock, metadata: { external_id: `user_${name}` } });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: c.id });
  await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm.id } });
  return c;
}

/** The history as rows (ids aside) and the report over March and April. */
async function history(orm: Orm): Promise<{ movements: unknown[]; points: RevenuePointData[] }> {
  const rows = await orm.em.getConnection().execute<{ name: string; currency: string; at: string; kind: string; b: string; a: string; d: string }[]>(
    `select c.name, m.currency, to_char(m.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at, m.kind,
            m.before_num::text as b, m.after_num::text as a, m.denominator::text as d
     from mrr_movements m join customers c on c.id = m.customer_id order by m.at, c.name`,
  );
  // Exact amounts as reduced fractions of a cent per month.
  const exact = (n: string, d: string) => {
    const f = fraction(BigInt(n), BigInt(d));
    return `${f.numerator}/${f.denominator}`;
  };
  const movements = rows.map((r) => ({ name: r.name, currency: r.currency, at: r.at, kind: r.kind, before: exact(r.b, r.d), after: exact(r.a, r.d) }));
  const points = await revenueReport(orm.em.fork(), { from: new Date(MARCH * 1000), to: MAY, interval: 'MONTH' });
  return { movements, points };
}

async function deliverAll(list: Stripe.Event[], batchSize?: number) {
  const gw = await gateway(side, batchSize ? { batchSize } : {});
  try {
    if (batchSize) {
      for (const e of list) expect((await gw.deliver(e)).status).toBe(200);
      for (const o of await gw.worker.drain()) expect(o.status, JSON.stringify(o)).toBe('processed');
    } else {
      for (const e of list) {
        expect((await gw.deliver(e)).status).toBe(200);
        for (const o of await gw.worker.drain()) expect(o.status, JSON.stringify(o)).toBe('processed');
      }
    }
    return await history(gw.orm);
  } finally {
    await gw.close();
  }
}

beforeAll(async () => {
  side = await stripeSide();
  const { stripe } = side;
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: MARCH + HOUR });
  const [a, b, c, d] = [
    await customer(stripe, clock.id, 'a'),
    await customer(stripe, clock.id, 'b'),
    await customer(stripe, clock.id, 'c'),
    await customer(stripe, clock.id, 'd'),
  ];
  const basic = await planPrice(stripe, 'basic_monthly');
  const pro = await planPrice(stripe, 'pro_monthly');
  const yearly = await planPrice(stripe, 'pro_yearly');
  await advanceClock(stripe, clock.id, MARCH + 2 * DAY);
  const subA = await stripe.subscriptions.create({ customer: a.id, items: [{ price: basic.id, quantity: 1 }] });
  // Same-second updates that change nothing of MRR (ties the mirror resolves by re-reading).
  await stripe.subscriptions.update(subA.id, { metadata: { step: '1' } });
  const subB = await stripe.subscriptions.create({ customer: b.id, items: [{ price: pro.id, quantity: 1 }] });
  const subC = await stripe.subscriptions.create({ customer: c.id, items: [{ price: pro.id, quantity: 3 }] });
  await stripe.subscriptions.create({ customer: d.id, items: [{ price: yearly.id, quantity: 1 }] });
  await advanceClock(stripe, clock.id, MARCH + 5 * DAY);
  await stripe.subscriptions.update(subA.id, { items: [{ id: subA.items.data[0]!.id, price: pro.id }], proration_behavior: 'none' });
  await stripe.subscriptions.cancel(subB.id);
  await stripe.subscriptions.update(subC.id, { items: [{ id: subC.items.data[0]!.id, quantity: 2 }], proration_behavior: 'none' });
  await advanceClock(stripe, clock.id, MARCH + 40 * DAY);
  await stripe.subscriptions.create({ customer: b.id, items: [{ price: pro.id, quantity: 1 }] });
  await advanceClock(stripe, clock.id, MARCH + 45 * DAY);

  events = (await allEvents(stripe)).filter((e) => isHandledEventType(e.type));
  baseline = await deliverAll(events);
}, 180_000);

afterAll(async () => {
  await side?.close();
});

const money = (p: RevenuePointData) => ({
  mrr: p.mrr,
  newMrr: p.newMrr,
  expansionMrr: p.expansionMrr,
  contractionMrr: p.contractionMrr,
  churnedMrr: p.churnedMrr,
  reactivationMrr: p.reactivationMrr,
  netNewMrr: p.netNewMrr,
  customers: p.customers,
  newCustomers: p.newCustomers,
  churnedCustomers: p.churnedCustomers,
  reactivatedCustomers: p.reactivatedCustomers,
  arpa: p.arpa,
  customerChurnRate: p.customerChurnRate,
  grossMrrChurnRate: p.grossMrrChurnRate,
  netRevenueRetention: p.netRevenueRetention,
});

describe('revenue history of the scenario', () => {
  it('records each movement once, with its kind, at its moment on the clock', () => {
    const at = (days: number) => new Date((MARCH + days * DAY) * 1000).toISOString().replace('.000', '');
    expect(baseline.movements).toEqual([
      { name: 'a', currency: 'usd', at: at(2), kind: 'new', before: '0/1', after: '100/1' },
      { name: 'b', currency: 'usd', at: at(2), kind: 'new', before: '0/1', after: '500/1' },
      { name: 'c', currency: 'usd', at: at(2), kind: 'new', before: '0/1', after: '1500/1' },
      // $50.00 a year: 5000 / 12 cents a month, kept exact.
      { name: 'd', currency: 'usd', at: at(2), kind: 'new', before: '0/1', after: '1250/3' },
      { name: 'a', currency: 'usd', at: at(5), kind: 'expansion', before: '100/1', after: '500/1' },
      { name: 'b', currency: 'usd', at: at(5), kind: 'churn', before: '500/1', after: '0/1' },
      { name: 'c', currency: 'usd', at: at(5), kind: 'contraction', before: '1500/1', after: '1000/1' },
      { name: 'b', currency: 'usd', at: at(40), kind: 'reactivation', before: '0/1', after: '500/1' },
    ]);
  });

  it('March and April: every figure, the rates and the identity', () => {
    const [march, april] = baseline.points;
    expect(baseline.points).toHaveLength(2);
    expect(march!.periodStart).toEqual(new Date(MARCH * 1000));
    expect(march!.periodEnd).toEqual(APRIL);
    expect(april!.periodStart).toEqual(APRIL);
    expect(april!.periodEnd).toEqual(MAY);
    // New: 100 + 500 + 1500 + 416.67 = 2516.67 → 2517, rounded once; MRR 500 + 1000 + 416.67 → 1917.
    expect(money(march!)).toEqual({
      mrr: 1917, newMrr: 2517, expansionMrr: 400, contractionMrr: 500, churnedMrr: 500, reactivationMrr: 0, netNewMrr: 1917,
      customers: 3, newCustomers: 4, churnedCustomers: 1, reactivatedCustomers: 0, arpa: 639,
      customerChurnRate: null, grossMrrChurnRate: null, netRevenueRetention: null,
    });
    expect(money(april!)).toEqual({
      mrr: 2417, newMrr: 0, expansionMrr: 0, contractionMrr: 0, churnedMrr: 0, reactivationMrr: 500, netNewMrr: 500,
      customers: 4, newCustomers: 0, churnedCustomers: 0, reactivatedCustomers: 1, arpa: 604,
      customerChurnRate: 0, grossMrrChurnRate: 0, netRevenueRetention: 1,
    });
    expect(0 + march!.netNewMrr).toBe(march!.mrr);
    expect(march!.mrr + april!.netNewMrr).toBe(april!.mrr);
  });

  it('weeks and days chain, and sum to the month', async () => {
    const gw = await gateway(side);
    try {
      for (const e of events) {
        await gw.deliver(e);
        await gw.worker.drain();
      }
      for (const interval of ['WEEK', 'DAY'] as const) {
        const points = await revenueReport(gw.orm.em.fork(), { from: new Date(MARCH * 1000), to: APRIL, interval });
        let mrr = 0;
        for (const [i, p] of points.entries()) {
          expect(mrr + p.netNewMrr).toBe(p.mrr);
          mrr = p.mrr;
          if (i > 0) expect(p.periodStart).toEqual(points[i - 1]!.periodEnd);
          if (interval === 'WEEK') expect(p.periodStart.getUTCDay()).toBe(1);
        }
        // March 2026 starts on a Sunday: the first week starts on Monday, February 23.
        if (interval === 'WEEK') expect(points[0]!.periodStart).toEqual(new Date(Date.UTC(2026, 1, 23)));
        const sum = (k: 'expansionMrr' | 'contractionMrr' | 'churnedMrr' | 'newCustomers') => points.reduce((n, p) => n + p[k], 0);
        expect([sum('expansionMrr'), sum('contractionMrr'), sum('churnedMrr'), sum('newCustomers')]).toEqual([400, 500, 500, 4]);
      }
    } finally {
      await gw.close();
    }
  });

  it('the current MRR from the totals agrees with the history; the rollups equal their rebuild and compaction', async () => {
    const gw = await gateway(side);
    try {
      for (const e of events) {
        await gw.deliver(e);
        await gw.worker.drain();
      }
      const { snapshot } = await readMrrTotals(gw.orm.em.fork());
      expect(snapshot.currencies).toEqual([{ currency: 'usd', amount: 2417, subscriptions: 4 }]);
      // The mrr report's month figures are March's point (asked as of March 20).
      const { movements } = await readMrrTotals(gw.orm.em.fork(), new Date((MARCH + 19 * DAY) * 1000));
      expect(movements).toMatchObject({
        newThisMonth: [{ currency: 'usd', amount: 2517 }],
        churnedThisMonth: [{ currency: 'usd', amount: 500 }],
        netNewThisMonth: [{ currency: 'usd', amount: 1917 }],
      });
      // The rollups kept by the trigger are what a rebuild from the movements gives, also once compacted.
      const rollups = () => gw.orm.em.getConnection().execute(
        `select grain, period, currency, denominator, sum(new_num) n, sum(expansion_num) e, sum(contraction_num) c, sum(churned_num) ch,
                sum(reactivation_num) r, sum(kept_num) k, sum(customers) cu, sum(new_customers) nc, sum(churned_customers) cc, sum(reactivated_customers) rc
         from revenue_rollups group by 1, 2, 3, 4 having sum(movements) <> 0 order by 1, 2, 3, 4`,
      );
      const kept = await rollups();
      await compactRevenueRollups(gw.orm.em.fork());
      expect(await rollups()).toEqual(kept);
      await rebuildRevenueRollups(gw.orm.em.fork());
      expect(await rollups()).toEqual(kept);
      expect(await history(gw.orm)).toEqual(baseline);
    } finally {
      await gw.close();
    }
  });

  it('shuffled: the same history', async () => {
    expect(await deliverAll(shuffled(events, seeded(7)))).toEqual(baseline);
  });

  it('with duplicates and late replays: the same history', async () => {
    expect(await deliverAll(withDuplicatesAndReplays(events, 11))).toEqual(baseline);
  });

  it('newest first, and in batches of 16 per transaction: the same history', async () => {
    expect(await deliverAll([...events].reverse())).toEqual(baseline);
    expect(await deliverAll(shuffled(events, seeded(13)), 16)).toEqual(baseline);
  });

  it('sync --full into an empty database rebuilds the same history from what Stripe holds', async () => {
    const db = await createTestOrm();
    try {
      await mirrorCatalog(db.orm.em.fork(), side.catalogReport);
      await syncFull({ orm: db.orm, stripe: side.stripe, catalog: side.catalog });
      expect(await history(db.orm)).toEqual(baseline);
    } finally {
      await db.dispose();
    }
  });
});
