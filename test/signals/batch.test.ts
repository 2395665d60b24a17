/**
 * The worker's batch path for signals: several Stripe events in one transaction (`afterEvent.batch`)
 * store, publish and report MRR exactly as the same events processed one per transaction.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalBus, TOPICS, type BillingEventPayload, type MrrReportPayload } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { mirrorObject, type MirrorableObject } from '../../src/stripe/mirror/index.js';
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
});
