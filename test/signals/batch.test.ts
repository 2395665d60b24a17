/**
 * The worker's batch path for signals: several Stripe events in one transaction (`afterEvent.batch`)
 * store, publish and report MRR exactly as the same events processed one per transaction.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentMrr } from '../../src/billing/metrics/current-mrr.js';
import { createSignalBus, TOPICS, type BillingEventPayload, type MrrReportPayload } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { mirrorObject, withMirrorBatch, type MirrorableObject } from '../../src/stripe/mirror/index.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { allEvents, catalog, emulatorWithCatalog, processEvent, subscribe } from './support.js';

let one: TestOrm;
let batched: TestOrm;
let emu: RunningEmulator;
let stripe: Stripe;
let events: Stripe.Event[];

beforeAll(async () => {
  [one, batched] = await Promise.all([createTestOrm(), createTestOrm()]);
  let priceId: (key: string) => Promise<string>;
  ({ emu, stripe, priceId } = await emulatorWithCatalog(one.orm));
  const report = await syncCatalog(stripe, catalog);
  await batched.orm.em.fork().transactional((em) => mirrorCatalog(em, { products: report.products, prices: report.prices, meters: report.meters }));
  const basic = await priceId('basic_monthly');
  const a = await subscribe(stripe, basic, { email: 'a@example.com', externalId: 'user_a', quantity: 2 });
  await subscribe(stripe, basic, { email: 'b@example.com', externalId: 'user_b' });
  await stripe.subscriptions.update(a.subscription.id, { items: [{ id: a.subscription.items.data[0]!.id, quantity: 5 }] });
  await stripe.subscriptions.cancel(a.subscription.id);
  events = await allEvents(stripe);
}, 60_000);

afterAll(async () => {
  await emu?.close();
  await Promise.all([one?.dispose(), batched?.dispose()]);
});

async function stored(db: TestOrm) {
  return db.orm.em
    .fork()
    .getConnection()
    .execute<Record<string, unknown>[]>('select id, type, customer_id, subscription_id, invoice_id, amount, currency, message, data from billing_events order by created_at, id');
}

function recorder() {
  const bus = createSignalBus();
  const seen = { events: [] as BillingEventPayload[], mrr: [] as MrrReportPayload[] };
  void (async () => {
    for await (const e of bus.pubSub.subscribe(TOPICS.billingEvents)) seen.events.push(e);
  })();
  void (async () => {
    for await (const m of bus.pubSub.subscribe(TOPICS.mrrUpdated)) seen.mrr.push(m);
  })();
  return { bus, seen };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('signals in batches', () => {
  it('one transaction for all events stores and publishes what one transaction per event does, MRR steps included', async () => {
    const config = { mrrMilestones: [1, 2] };
    const a = recorder();
    const signalsA = createSignals({ bus: a.bus, config });
    await tick();
    for (const e of events) await processEvent(one.orm, signalsA, stripe, e);

    const b = recorder();
    const signalsB = createSignals({ bus: b.bus, config });
    await tick();
    const batch = signalsB.afterEvent.batch!;
    await batched.orm.em.fork().transactional(async (tx) => {
      batch.begin(tx);
      for (const e of events) {
        await mirrorObject(tx, e.data.object as MirrorableObject, { catalog, stripe, eventType: e.type, lastEventAt: new Date(e.created * 1000) });
        await signalsB.afterEvent(tx, e);
      }
      await batch.end(tx);
      // Nothing is published before the commit.
      expect(b.seen.events).toEqual([]);
    });
    await tick();

    const rowsA = await stored(one);
    expect(rowsA.map((r) => r.type)).toContain('MRR_UPDATED');
    expect(rowsA.map((r) => r.type)).toContain('MILESTONE_REACHED');
    expect(await stored(batched)).toEqual(rowsA);
    const strip = (list: BillingEventPayload[]) => list.map(({ occurredAt: _o, ...rest }) => rest);
    expect(strip(b.seen.events)).toEqual(strip(a.seen.events));
    expect(b.seen.events.length).toBe(rowsA.length);
    expect(b.seen.mrr.map((m) => JSON.stringify([m.totals, m.activeSubscriptions, m.byPlan]))).toEqual(a.seen.mrr.map((m) => JSON.stringify([m.totals, m.activeSubscriptions, m.byPlan])));

    // A redelivered batch stores and publishes nothing new.
    const before = b.seen.events.length;
    await batched.orm.em.fork().transactional(async (tx) => {
      batch.begin(tx);
      for (const e of events) await signalsB.afterEvent(tx, e);
      await batch.end(tx);
    });
    await tick();
    expect(b.seen.events.length).toBe(before);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('in a mirror batch, MRR steps taken at its end from the recorded deltas store what per-event reads of the totals do', async () => {
    const fresh = await createTestOrm();
    try {
      const report = await syncCatalog(stripe, catalog);
      await fresh.orm.em.fork().transactional((em) => mirrorCatalog(em, { products: report.products, prices: report.prices, meters: report.meters }));
      const config = { mrrMilestones: [1, 2] };
      const c = recorder();
      const signals = createSignals({ bus: c.bus, config });
      await tick();
      const batch = signals.afterEvent.batch!;
      // No MRR_UPDATED, no milestone, and the MRR lock not taken, until the batch's end.
      const early: { mrr: number; locks: number }[] = [];
      await fresh.orm.em.fork().transactional(async (tx) =>
        withMirrorBatch(tx, async (mirror) => {
          expect(mirror).toBeDefined();
          batch.begin(tx);
          for (const e of events) {
            await mirrorObject(tx, e.data.object as MirrorableObject, { catalog, stripe, eventType: e.type, lastEventAt: new Date(e.created * 1000) });
            await signals.afterEvent(tx, e);
          }
          const [row] = await tx.getConnection().execute<{ mrr: string; locks: string }[]>(
            `select (select count(*) from billing_events where type in ('MRR_UPDATED', 'MILESTONE_REACHED')) as mrr,
                    (select count(*) from pg_locks where locktype = 'advisory' and objid = 1836216927 and pid = pg_backend_pid()) as locks`,
            [],
            'all',
            tx.getTransactionContext(),
          );
          early.push({ mrr: Number(row!.mrr), locks: Number(row!.locks) });
          // Each subscription write recorded what it added to its currency's counting MRR.
          expect(mirror!.mrrDeltas.length).toBeGreaterThan(0);
          await batch.end(tx);
        }),
      );
      await tick();
      expect(early).toEqual([{ mrr: 0, locks: 0 }]);
      const rowsA = await stored(one);
      expect(rowsA.map((r) => r.type)).toContain('MRR_UPDATED');
      expect(await stored(fresh)).toEqual(rowsA);
      // The report goes with the batch's last MRR_UPDATED: the state after all of it.
      const mrr = await currentMrr(fresh.orm.em.fork());
      expect(c.seen.mrr.at(-1)?.totals).toEqual(mrr.currencies.map((x) => ({ amount: x.amount, currency: x.currency })));
      await c.bus.close();
    } finally {
      await fresh.dispose();
    }
  });

  it('a subscription copy the mirror skipped still reports a change that a write without an MRR step left behind', async () => {
    const fresh = await createTestOrm();
    try {
      const report = await syncCatalog(stripe, catalog);
      await fresh.orm.em.fork().transactional((em) => mirrorCatalog(em, { products: report.products, prices: report.prices, meters: report.meters }));
      const c = recorder();
      const signals = createSignals({ bus: c.bus, config: { mrrMilestones: [] } });
      await tick();
      const batch = signals.afterEvent.batch!;
      const subscriptionEvents = events.filter((e) => e.type.startsWith('customer.subscription.'));
      const last = subscriptionEvents.at(-1)!;
      expect(last.type).toBe('customer.subscription.deleted');
      const earlier = subscriptionEvents.find((e) => e.type === 'customer.subscription.updated')!;
      await fresh.orm.em.fork().transactional(async (tx) => {
        batch.begin(tx);
        for (const e of events) {
          if (e === last) continue;
          await mirrorObject(tx, e.data.object as MirrorableObject, { catalog, stripe, eventType: e.type, lastEventAt: new Date(e.created * 1000) });
          await signals.afterEvent(tx, e, { action: 'applied', kind: e.type.startsWith('customer.subscription.') ? 'subscription' : undefined });
        }
        // The cancellation is written, but its event names no currency: no MRR step follows the write.
        await mirrorObject(tx, last.data.object as MirrorableObject, { catalog, stripe, eventType: last.type, lastEventAt: new Date(last.created * 1000) });
        const { currency: _currency, ...withoutCurrency } = last.data.object as unknown as Record<string, unknown>;
        await signals.afterEvent(tx, { ...last, data: { object: withoutCurrency } } as unknown as Stripe.Event, { action: 'applied', kind: 'subscription' });
        // A copy the mirror skipped, in the same currency: its step must read the totals again, not trust the last one.
        await signals.afterEvent(tx, { ...earlier, id: 'evt_skipped_copy' }, { action: 'skipped', kind: 'subscription', reason: 'row reflects a later event' });
        await batch.end(tx);
      });
      const mrr = await currentMrr(fresh.orm.em.fork());
      const reported = await fresh.orm.em
        .fork()
        .getConnection()
        .execute<{ amount: string; source_event_id: string }[]>(`select amount, source_event_id from billing_events where type = 'MRR_UPDATED' order by created_at desc limit 1`);
      expect(reported[0]).toMatchObject({ source_event_id: 'evt_skipped_copy' });
      expect(Number(reported[0]!.amount)).toBe(mrr.currencies.find((x) => x.currency === 'usd')?.amount ?? 0);
      await c.bus.close();
    } finally {
      await fresh.dispose();
    }
  });
});
