import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { inboxSaturated, queueStoreEvent, type StoreOutcome } from '../../src/stripe/webhooks/inbox.js';
import { WebhookWorker } from '../../src/stripe/webhooks/worker.js';
import { eventually } from '../support/eventually.js';
import { fakeEvent, webhookGatewayForFile, type Gateway, type StripeSide } from './support.js';

const setup = webhookGatewayForFile();
let side: StripeSide;
let gw: Gateway;
beforeAll(() => ({ side, gw } = setup));

const customerEvent = (n: number) => fakeEvent('customer.created', { id: `cus_group_${n}_${Math.random().toString(36).slice(2)}`, object: 'customer' });

async function inboxRows(ids: string[]): Promise<{ id: string; status: string; received_at: Date }[]> {
  return gw.orm.em.getConnection().execute(`select id, status, received_at from webhook_events where id in (${ids.map(() => '?').join(', ')})`, ids);
}

describe('webhook inbox group commit', () => {
  it('stores deliveries that arrive together in shared statements, each answered with its own outcome', async () => {
    // The first goes at once (the statement in flight); the nine submitted meanwhile wait and share one insert.
    const events = Array.from({ length: 10 }, (_, i) => customerEvent(i));
    const outcomes = await Promise.all(events.map((e) => queueStoreEvent(gw.orm.em, e, JSON.stringify(e))));
    expect(outcomes).toEqual(Array(10).fill('stored'));
    const rows = await inboxRows(events.map((e) => e.id));
    expect(rows).toHaveLength(10);
    // Rows inserted by one transaction carry its id (xmin); one insert each would leave ten ids. The ten
    // are submitted synchronously: the first statement goes alone (one in flight), the nine waiting share the next.
    // (Not received_at: PGlite's now() has millisecond resolution, separate statements can share one.)
    const ids = events.map((e) => e.id);
    const txs = await gw.orm.em
      .getConnection()
      .execute<{ tx: string }[]>(`select xmin::text as tx from webhook_events where id in (${ids.map(() => '?').join(', ')})`, ids);
    const perTransaction = new Map<string, number>();
    for (const { tx } of txs) perTransaction.set(tx, (perTransaction.get(tx) ?? 0) + 1);
    expect([...perTransaction.values()].sort((a, b) => a - b)).toEqual([1, 9]);
  });

  it('a duplicate inside a batch, or of a stored event, is acknowledged without a second row', async () => {
    const fillers = Array.from({ length: 4 }, (_, i) => customerEvent(100 + i));
    const [a, b] = [customerEvent(200), customerEvent(201)];
    const ignored = fakeEvent('charge.dispute.created', { id: 'dp_group', object: 'dispute' });
    const batch: Stripe.Event[] = [...fillers, a, b, a, ignored, fillers[0]!, ignored];
    const outcomes = await Promise.all(batch.map((e) => queueStoreEvent(gw.orm.em, e, JSON.stringify(e))));
    expect(outcomes.slice(1, 8)).toEqual<StoreOutcome[]>(['stored', 'stored', 'stored', 'stored', 'stored', 'duplicate', 'ignored']);
    expect(outcomes[9]).toBe('duplicate');
    // fillers[0] twice in two statements: whichever commits first stores it, the other is the duplicate.
    expect([outcomes[0], outcomes[8]].sort()).toEqual(['duplicate', 'stored']);
    expect(await queueStoreEvent(gw.orm.em, a, JSON.stringify(a))).toBe('duplicate');
    const rows = await inboxRows([...fillers, a, b, ignored].map((e) => e.id));
    expect(rows.map((r) => r.status).sort()).toEqual(['ignored', ...Array(6).fill('pending')]);
  });

  it('an event PostgreSQL refuses fails alone: the rest of its batch is stored', async () => {
    const fillers = Array.from({ length: 4 }, (_, i) => customerEvent(300 + i));
    const good = [customerEvent(400), customerEvent(401)];
    // Valid JSON, but jsonb has no NUL character: the whole multi-row insert fails on it.
    const poison = customerEvent(402);
    const poisonBody = JSON.stringify(poison).replace('"object":"customer"', '"object":"customer","name":"\\u0000"');
    const settled = await Promise.allSettled([
      ...fillers.map((e) => queueStoreEvent(gw.orm.em, e, JSON.stringify(e))),
      queueStoreEvent(gw.orm.em, good[0]!, JSON.stringify(good[0])),
      queueStoreEvent(gw.orm.em, poison, poisonBody),
      queueStoreEvent(gw.orm.em, good[1]!, JSON.stringify(good[1])),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const rows = await inboxRows([...fillers, ...good, poison].map((e) => e.id));
    expect(rows.map((r) => r.id).sort()).toEqual([...fillers, ...good].map((e) => e.id).sort());
  });

  it('concurrent HTTP deliveries of the same events: one stored answer per event, the others duplicates', async () => {
    const events = Array.from({ length: 12 }, (_, i) => customerEvent(500 + i));
    const deliveries = [...events, ...events, ...events];
    const answers = await Promise.all(deliveries.map((e) => gw.deliver(e)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const e of events) {
      const mine = answers.filter((_, i) => deliveries[i] === e).map((a) => a.json);
      expect(mine.filter((j) => JSON.stringify(j) === '{"received":true}')).toHaveLength(1);
      expect(mine.filter((j) => JSON.stringify(j) === '{"received":true,"duplicate":true}')).toHaveLength(2);
    }
    expect(await inboxRows(events.map((e) => e.id))).toHaveLength(12);
  });

  it('is saturated only while deliveries wait behind the statements in flight', async () => {
    expect(inboxSaturated(gw.orm.em)).toBe(false);
    const events = Array.from({ length: 8 }, (_, i) => customerEvent(600 + i));
    const all = Promise.all(events.map((e) => queueStoreEvent(gw.orm.em, e, JSON.stringify(e))));
    // One statement in flight, seven waiting.
    expect(inboxSaturated(gw.orm.em)).toBe(true);
    await all;
    expect(inboxSaturated(gw.orm.em)).toBe(false);
  });

  it('a worker that gives way to a saturated ingestion still processes everything', async () => {
    await gw.worker.drain();
    const events: Stripe.Event[] = [];
    for (let i = 0; i < 5; i++) {
      const customer = await side.stripe.customers.create({ email: `defer${i}@example.com` });
      events.push(fakeEvent('customer.created', customer as unknown as Record<string, unknown>));
    }
    for (const e of events) expect(await queueStoreEvent(gw.orm.em, e, JSON.stringify(e))).toBe('stored');
    const worker = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, concurrency: 2, batchSize: 2, pollIntervalMs: 10, deferWhile: () => true, deferMs: 1 });
    worker.start();
    try {
      const ids = events.map((e) => e.id);
      await eventually('every event processed', () => inboxRows(ids), (rows) => rows.every((r) => r.status === 'processed'));
    } finally {
      await worker.stop();
    }
    expect((await inboxRows(events.map((e) => e.id))).map((r) => r.status)).toEqual(Array(5).fill('processed'));
  });
});
