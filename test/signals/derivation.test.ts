import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentMrr } from '../../src/billing/metrics/current-mrr.js';
import { formatMrrLine, mrrReport } from '../../src/billing/metrics/mrr-report.js';
import { createSignalBus, TOPICS, type BillingEventPayload, type MilestonePayload, type MrrReportPayload, type SignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { clearTables, createTestOrm, type TestOrm } from '../support/db.js';
import { mirrorObject, type MirrorableObject } from '../../src/stripe/mirror/index.js';
import { allEvents, catalog, emulatorWithCatalog, processEvent, subscribe } from './support.js';

let db: TestOrm;
let emu: RunningEmulator;
let stripe: Stripe;
let priceId: (key: string) => Promise<string>;

beforeAll(async () => {
  db = await createTestOrm();
  ({ emu, stripe, priceId } = await emulatorWithCatalog(db.orm));
});
afterAll(async () => {
  await emu?.close();
  await db?.dispose();
});

/** Everything a bus publishes, per topic, in order. */
function record(bus: SignalBus) {
  const seen = { events: [] as BillingEventPayload[], mrr: [] as MrrReportPayload[], milestones: [] as MilestonePayload[] };
  const pump = async <T>(it: AsyncIterable<T>, into: T[]) => {
    for await (const v of it) into.push(v);
  };
  void pump(bus.pubSub.subscribe(TOPICS.billingEvents), seen.events);
  void pump(bus.pubSub.subscribe(TOPICS.mrrUpdated), seen.mrr);
  void pump(bus.pubSub.subscribe(TOPICS.milestoneReached), seen.milestones);
  return seen;
}

const tick = () => new Promise((r) => setImmediate(r));

async function storedEvents() {
  return db.orm.em
    .fork()
    .getConnection()
    .execute<{ id: string; type: string; customer_id: string | null; invoice_id: string | null; amount: string | null; message: string }[]>(
      'select id, type, customer_id, invoice_id, amount, message from billing_events order by created_at, id',
    );
}

function shuffled<T>(list: T[], seed: number): T[] {
  const out = list.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('signals from Stripe events', () => {
  it('derives each BillingEvent exactly once, in order, shuffled and duplicated, and publishes only new ones', async () => {
    await clearTables(db.orm);
    const bus = createSignalBus();
    const seen = record(bus);
    const signals = createSignals({ bus, config: { mrrMilestones: [1000] } });
    const before = (await allEvents(stripe)).length;
    const { customer, subscription } = await subscribe(stripe, await priceId('pro_monthly'), { quantity: 2 });
    await stripe.subscriptions.update(subscription.id, { metadata: { seats: 'two' } });
    const events = (await allEvents(stripe)).slice(before);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['customer.created', 'customer.subscription.created', 'invoice.paid', 'invoice.payment_succeeded', 'invoice.created']));

    // In order, then every event again shuffled (redelivery), then once more.
    for (const e of events) await processEvent(db.orm, signals, stripe, e);
    for (const e of shuffled(events, 7)) await processEvent(db.orm, signals, stripe, e);
    for (const e of events) await processEvent(db.orm, signals, stripe, e);
    await tick();

    const stored = await storedEvents();
    const types = stored.map((r) => r.type).sort();
    expect(types).toEqual(['CUSTOMER_CREATED', 'INVOICE_CREATED', 'MRR_UPDATED', 'PAYMENT_RECEIVED', 'SUBSCRIPTION_STARTED', 'SUBSCRIPTION_UPDATED'].sort());
    const byType = Object.fromEntries(stored.map((r) => [r.type, r]));
    expect(byType.PAYMENT_RECEIVED).toMatchObject({ customer_id: customer.id, message: `payment_received customer=${customer.id} amount=$10.00` });
    expect(Number(byType.PAYMENT_RECEIVED!.amount)).toBe(1000);
    expect(byType.SUBSCRIPTION_STARTED!.message).toBe(`subscription_started customer=${customer.id} plan=pro_monthly`);
    expect(byType.MRR_UPDATED!.message).toBe('mrr_update mrr=$10.00 change=+$10.00 kind=new');
    expect(byType.CUSTOMER_CREATED!.message).toBe(`customer_created customer=${customer.id}`);

    // Published exactly once each, with the stored ids; MRR once.
    expect(seen.events.map((e) => e.id).sort()).toEqual(stored.map((r) => r.id).sort());
    expect(seen.mrr).toHaveLength(1);
    expect(seen.mrr[0]).toMatchObject({ totals: [{ amount: 1000, currency: 'usd' }], activeSubscriptions: 1, byPlan: [{ planId: 'pro_monthly', amount: 1000, subscriptions: 1 }] });
    expect(seen.milestones).toEqual([]);
    await bus.close();
  });

  it('publishes only after the transaction commits, and nothing when it rolls back', async () => {
    await clearTables(db.orm);
    const bus = createSignalBus();
    const seen = record(bus);
    const signals = createSignals({ bus, config: { mrrMilestones: [1] } });
    const before = (await allEvents(stripe)).length;
    await subscribe(stripe, await priceId('basic_monthly'));
    const events = (await allEvents(stripe)).slice(before);
    const mirror = (tx: Parameters<typeof mirrorObject>[0], e: Stripe.Event) =>
      mirrorObject(tx, e.data.object as MirrorableObject, { catalog, stripe, eventType: e.type });

    // Rolled back: nothing stored, nothing published.
    await expect(
      db.orm.em.fork().transactional(async (tx) => {
        for (const e of events) {
          await mirror(tx, e);
          await signals.afterEvent(tx, e);
        }
        throw new Error('worker failed after the signals step');
      }),
    ).rejects.toThrow('worker failed');
    await tick();
    expect(seen.events).toEqual([]);
    expect(await storedEvents()).toEqual([]);

    // Committed: nothing is visible before the commit, everything after it.
    let duringTransaction = -1;
    await db.orm.em.fork().transactional(async (tx) => {
      for (const e of events) {
        await mirror(tx, e);
        await signals.afterEvent(tx, e);
      }
      await tick();
      duringTransaction = seen.events.length + seen.mrr.length + seen.milestones.length;
    });
    await tick();
    expect(duringTransaction).toBe(0);
    const stored = await storedEvents();
    expect(stored.map((r) => r.type).sort()).toEqual(['CUSTOMER_CREATED', 'INVOICE_CREATED', 'MILESTONE_REACHED', 'MRR_UPDATED', 'PAYMENT_RECEIVED', 'SUBSCRIPTION_STARTED']);
    expect(seen.events.map((e) => e.id).sort()).toEqual(stored.map((r) => r.id).sort());
    expect(seen.milestones).toHaveLength(1);
    await bus.close();
  });

  it('reports a failed payment with its attempt number, once per attempt', async () => {
    await clearTables(db.orm);
    const bus = createSignalBus();
    const seen = record(bus);
    const signals = createSignals({ bus, config: { mrrMilestones: [1000] } });
    const before = (await allEvents(stripe)).length;
    const customer = await stripe.customers.create({ payment_method: 'pm_card_chargeCustomerFail', invoice_settings: { default_payment_method: 'pm_card_chargeCustomerFail' } });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: await priceId('basic_monthly') }], payment_behavior: 'allow_incomplete' }).catch(() => undefined);
    const events = (await allEvents(stripe)).slice(before);
    const failed = events.filter((e) => e.type === 'invoice.payment_failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of [...events, ...failed]) await processEvent(db.orm, signals, stripe, e);
    await tick();
    const stored = (await storedEvents()).filter((r) => r.type === 'PAYMENT_FAILED');
    expect(stored).toHaveLength(1);
    expect(stored[0]!.message).toBe(`payment_failed customer=${customer.id} retry=1`);
    expect(seen.events.filter((e) => e.type === 'PAYMENT_FAILED')).toHaveLength(1);
    // An incomplete subscription is not MRR.
    expect(seen.mrr).toEqual([]);
    await bus.close();
  });

  it('computes MRR exactly: two pro_yearly subscriptions are $8.33', async () => {
    await clearTables(db.orm);
    const signals = createSignals({ bus: createSignalBus(), config: { mrrMilestones: [1_000_000] } });
    const before = (await allEvents(stripe)).length;
    await subscribe(stripe, await priceId('pro_yearly'));
    await subscribe(stripe, await priceId('pro_yearly'));
    for (const e of (await allEvents(stripe)).slice(before)) await processEvent(db.orm, signals, stripe, e);
    const report = await mrrReport(db.orm.em.fork());
    expect(report).toMatchObject({ totals: [{ amount: 833, currency: 'usd' }], activeSubscriptions: 2, byPlan: [{ planId: 'pro_yearly', amount: 833, currency: 'usd', subscriptions: 2 }] });
    expect(formatMrrLine(report)).toBe('MRR: $8.33 (2 active subscriptions)');
    const last = (await storedEvents()).filter((r) => r.type === 'MRR_UPDATED').at(-1)!;
    expect(last.message).toBe('mrr_update mrr=$8.33 change=+$4.16 kind=new');
  });

  it('fires each milestone once, and never again after a restart (new bus, same database)', async () => {
    await clearTables(db.orm);
    const config = { mrrMilestones: [5, 10, 20] };
    const first = createSignalBus();
    const seen1 = record(first);
    const signals1 = createSignals({ bus: first, config });
    let cursor = (await allEvents(stripe)).length;
    const next = async () => {
      const all = await allEvents(stripe);
      const fresh = all.slice(cursor);
      cursor = all.length;
      return fresh;
    };
    await subscribe(stripe, await priceId('pro_monthly')); // $5
    await subscribe(stripe, await priceId('pro_monthly')); // $10
    const batch1 = await next();
    for (const e of batch1) await processEvent(db.orm, signals1, stripe, e);
    await tick();
    expect(seen1.milestones.map((m) => m.threshold)).toEqual([
      { amount: 500, currency: 'usd' },
      { amount: 1000, currency: 'usd' },
    ]);
    expect(seen1.milestones[1]!.mrr).toEqual({ amount: 1000, currency: 'usd' });
    await first.close();

    // "Restart": a new bus and signals on the same database; everything again, plus a cancel and a re-subscribe.
    const second = createSignalBus();
    const seen2 = record(second);
    const signals2 = createSignals({ bus: second, config });
    const { subscription } = await subscribe(stripe, await priceId('basic_monthly')); // $11
    await stripe.subscriptions.cancel(subscription.id); // back to $10
    await subscribe(stripe, await priceId('basic_monthly')); // $11 again: 10 was reached before
    for (const e of [...batch1, ...(await next())]) await processEvent(db.orm, signals2, stripe, e);
    await tick();
    expect(seen2.milestones).toEqual([]);
    expect(seen2.events.filter((e) => e.type === 'MILESTONE_REACHED')).toEqual([]);
    expect(seen2.events.filter((e) => e.type === 'SUBSCRIPTION_CANCELED')).toHaveLength(1);
    expect(seen2.mrr.map((r) => r.totals[0]!.amount)).toEqual([1100, 1000, 1100]);

    const third = createSignalBus();
    const seen3 = record(third);
    const signals3 = createSignals({ bus: third, config });
    await subscribe(stripe, await priceId('pro_monthly'), { quantity: 2 }); // $21 ≥ $20
    for (const e of await next()) await processEvent(db.orm, signals3, stripe, e);
    await tick();
    expect(seen3.milestones.map((m) => m.threshold.amount)).toEqual([2000]);
    const milestoneEvents = (await storedEvents()).filter((r) => r.type === 'MILESTONE_REACHED').map((r) => r.message);
    expect(milestoneEvents).toEqual(['milestone mrr=$5.00', 'milestone mrr=$10.00', 'milestone mrr=$20.00']);
    expect((await currentMrr(db.orm.em.fork())).currencies).toEqual([{ currency: 'usd', amount: 2100, subscriptions: 4 }]);
    await second.close();
    await third.close();
  });
});
