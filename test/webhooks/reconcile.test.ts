/**
 * Durability and reconciliation: events stored but never processed (a crash) are processed after a
 * restart; workers share the inbox without taking an event twice; webhooks withheld by the emulator
 * are recovered by `syncMissedEvents`; `syncFull` repairs rows altered by hand and reports the drift.
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../src/db/entities/webhook-event.js';
import { onQuery } from '../../src/db/query-observer.js';
import { readEventsCursor, startPeriodicSync, syncFull, syncMissedEvents } from '../../src/stripe/sync/index.js';
import { webhookMetrics } from '../../src/stripe/webhooks/metrics.js';
import { WebhookWorker } from '../../src/stripe/webhooks/worker.js';
import { eventually } from '../support/eventually.js';
import { fakeEvent, gateway, planPrice, SECRET, webhookGatewayForFile, type Gateway, type StripeSide } from './support.js';

// A worker that never polls in practice: only the route's notify (after each insert) wakes it quickly.
// Two loops on either database (PGlite's default is one), as in production on PostgreSQL.
const setup = webhookGatewayForFile({ pollIntervalMs: 3_600_000, concurrency: 2 });
let side: StripeSide;
let gw: Gateway;
beforeAll(() => ({ side, gw } = setup));

const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => gw.orm.em.getConnection().execute<T[]>(q, params);

async function chaos(body: Record<string, unknown>): Promise<{ held: number }> {
  const res = await fetch(`${side.emu.url}/_emulator/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as { held: number };
}

describe('durability', () => {
  it('an event committed to the inbox but never processed (the process died) is processed by the next worker', async () => {
    const customer = await side.stripe.customers.create({ email: 'crash@example.com' });
    const event = fakeEvent('customer.created', customer as unknown as Record<string, unknown>);
    expect((await gw.deliver(event)).status).toBe(200);

    // The first process claims the event and dies mid-transaction: its work is rolled back, the row stays pending.
    await expect(
      gw.orm.em.fork().transactional(async (tx) => {
        const rows = await (tx as SqlEntityManager).execute(`select id from webhook_events where id = ? for update skip locked`, [event.id]);
        expect(rows).toHaveLength(1);
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect((await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id)).status).toBe('pending');
    expect(await sql(`select id from customers where id = ?`, [customer.id])).toHaveLength(0);

    // A claim left as `processing` by a dead worker whose lease expired is also taken over.
    const other = await side.stripe.customers.create({ email: 'lease@example.com' });
    const leased = fakeEvent('customer.created', other as unknown as Record<string, unknown>);
    expect((await gw.deliver(leased)).status).toBe(200);
    await sql(`update webhook_events set status = 'processing', locked_until = now() - interval '1 second' where id = ?`, [leased.id]);

    // "Restart": a new worker, started normally, finds both without being notified.
    const restarted = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, pollIntervalMs: 20 });
    restarted.start();
    try {
      await eventually('both events processed', async () => (await sql(`select id from webhook_events where id in (?, ?) and status = 'processed'`, [event.id, leased.id])).length === 2);
    } finally {
      await restarted.stop();
    }
    expect(await sql(`select email from customers where id in (?, ?) order by email`, [customer.id, other.id])).toEqual([
      { email: 'crash@example.com' },
      { email: 'lease@example.com' },
    ]);
  });

  it('several workers share the inbox and process each event exactly once; a started worker wakes on insert', async () => {
    const customers = await Promise.all(Array.from({ length: 8 }, (_, i) => side.stripe.customers.create({ email: `share${i}@example.com` })));
    const events = customers.map((c) => fakeEvent('customer.created', c as unknown as Record<string, unknown>));
    for (const e of events) expect((await gw.deliver(e)).status).toBe(200);
    const a = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    const b = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    const [da, db] = await Promise.all([a.drain(), b.drain()]);
    const ids = [...da, ...db].map((o) => o.eventId);
    expect(ids.sort()).toEqual(events.map((e) => e.id).sort());

    // The harness worker polls once an hour: the route's notify after the insert is what wakes it. Its
    // two loops first claim once each and find the inbox empty (two committed claims; nothing else uses
    // this database meanwhile), then sleep: from then on only a notify can wake them.
    const statements: string[] = [];
    const stopObserving = onQuery(gw.orm, ({ query }) => statements.push(query));
    gw.worker.start();
    try {
      await eventually('both loops to find the inbox empty', () => statements.filter((q) => /^commit/i.test(q.trim())), (commits) => commits.length >= 2);
      stopObserving();
      const c = await side.stripe.customers.create({ email: 'wake@example.com' });
      const e = fakeEvent('customer.created', c as unknown as Record<string, unknown>);
      expect((await gw.deliver(e)).status).toBe(200);
      await eventually('the notified worker to process the event', async () => (await sql(`select 1 from webhook_events where id = ? and status = 'processed'`, [e.id])).length === 1);
    } finally {
      stopObserving();
      await gw.worker.stop();
    }
  });

  it('a checkout completion racing customer.subscription.created ends in one subscription row', async () => {
    const customer = await side.stripe.customers.create({ email: 'race@example.com' });
    await side.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id }).then((pm) =>
      side.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } }),
    );
    const price = await planPrice(side.stripe, 'basic_monthly');
    const sub = await side.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const created = fakeEvent('customer.subscription.created', sub as unknown as Record<string, unknown>, sub.created);
    const checkout = fakeEvent(
      'checkout.session.completed',
      { id: 'cs_test_race', object: 'checkout.session', mode: 'subscription', status: 'complete', customer: customer.id, subscription: sub.id },
      sub.created,
    );
    await Promise.all([gw.deliver(created), gw.deliver(checkout)]);
    const a = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    const b = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    const outcomes = (await Promise.all([a.drain(), b.drain()])).flat().filter((o) => [created.id, checkout.id].includes(o.eventId));
    expect(outcomes.map((o) => o.status)).toEqual(['processed', 'processed']);
    expect(await sql(`select id, status, plan_id from subscriptions where customer_id = ?`, [customer.id])).toEqual([
      { id: sub.id, status: 'active', plan_id: 'basic_monthly' },
    ]);
  });
});

describe('reconciliation', () => {
  let subId: string;
  let customerId: string;

  it('webhooks withheld by Stripe are recovered by syncMissedEvents, from a persisted cursor', async () => {
    await gw.worker.drain();
    const endpoint = await side.stripe.webhookEndpoints.create({ url: gw.url, enabled_events: ['*'], secret: SECRET } as Stripe.WebhookEndpointCreateParams);
    gw.worker.start();
    try {
      // Delivery works: a customer made now reaches the mirror through the webhook.
      const live = await side.stripe.customers.create({ email: 'live@example.com' });
      await eventually('the live customer mirrored', async () => (await sql(`select 1 from customers where id = ?`, [live.id])).length === 1);

      // First run: no cursor yet, everything listable is read; the inbox already has what was delivered.
      const first = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
      expect(first.cursorBefore).toBeNull();
      expect(first.cursorAfter).not.toBeNull();

      await chaos({ hold: true });
      const customer = await side.stripe.customers.create({ email: 'held@example.com' });
      customerId = customer.id;
      const pm = await side.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
      await side.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await side.stripe.subscriptions.create({ customer: customer.id, items: [{ price: (await planPrice(side.stripe, 'pro_monthly')).id, quantity: 2 }] });
      subId = sub.id;
      await side.stripe.subscriptions.cancel(sub.id);
      const held = (await chaos({ hold: true })).held;
      expect(held).toBeGreaterThanOrEqual(5);
      expect(await sql(`select 1 from customers where id = ?`, [customer.id])).toHaveLength(0);

      const missedBefore = (await webhookMetrics.missedEvents.get()).values[0]?.value ?? 0;
      // The after-event hook, given as a loader: asked for once, since there are events to process.
      const hooked: string[] = [];
      let loads = 0;
      const loadAfterEvent = async () => {
        loads++;
        return async (_em: unknown, event: Stripe.Event) => void hooked.push(event.id);
      };
      const report = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, loadAfterEvent });
      expect(loads).toBe(1);
      expect(hooked).toHaveLength(report.processed);
      expect(report.cursorBefore).toEqual(first.cursorAfter);
      expect(report.listed).toBe(held);
      expect(report.missed).toBe(held);
      expect(report.failed).toBe(0);
      expect(await readEventsCursor(gw.orm.em.fork())).toEqual(report.cursorAfter);
      expect((await webhookMetrics.missedEvents.get()).values[0]!.value - missedBefore).toBe(held - report.ignored);
      expect(await sql(`select email, default_payment_method from customers where id = ?`, [customer.id])).toEqual([
        { email: 'held@example.com', default_payment_method: pm.id },
      ]);
      expect(await sql(`select status, plan_id, quantity from subscriptions where id = ?`, [sub.id])).toEqual([
        { status: 'canceled', plan_id: 'pro_monthly', quantity: 2 },
      ]);

      // Nothing new: a second run lists nothing. The held deliveries, released late, are duplicates.
      const again = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, loadAfterEvent });
      expect([again.listed, again.missed]).toEqual([0, 0]);
      // Nothing to process: the hook is not loaded.
      expect(loads).toBe(1);
      const processedBefore = (await sql<{ n: string }>(`select count(*) as n from webhook_events where status = 'processed'`))[0]!.n;
      await chaos({});
      await fetch(`${side.emu.url}/_emulator/chaos/release`, { method: 'POST' });
      const deliveries = (await (await fetch(`${side.emu.url}/_emulator/deliveries?wait=true`)).json()) as { data: { ok: boolean; event: string }[] };
      expect(deliveries.data.filter((d) => !d.ok)).toEqual([]);
      await gw.worker.drain();
      expect((await sql<{ n: string }>(`select count(*) as n from webhook_events where status = 'processed'`))[0]!.n).toBe(processedBefore);
    } finally {
      await gw.worker.stop();
      await side.stripe.webhookEndpoints.del(endpoint.id);
    }
  });

  it('syncFull repairs rows altered by hand, reports which fields differed, and exports the drift', async () => {
    // Rows altered by hand: a canceled subscription shown active, a customer's email, an invoice removed.
    await sql(`update subscriptions set status = 'active', quantity = 7, ended_at = null where id = ?`, [subId]);
    await sql(`update customers set email = 'wrong@example.com' where id = ?`, [customerId]);
    const [invoice] = await sql<{ id: string }>(`select id from invoices where customer_id = ? limit 1`, [customerId]);
    await sql(`delete from invoices where id = ?`, [invoice!.id]);
    await sql(`delete from invoice_lines where invoice_id = ?`, [invoice!.id]);

    const progress: string[] = [];
    const report = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, onProgress: (p) => progress.push(p.table) });
    expect(report.drift).toEqual(
      expect.arrayContaining([
        { table: 'subscriptions', id: subId, kind: 'changed', fields: ['status', 'quantity', 'endedAt'] },
        { table: 'customers', id: customerId, kind: 'changed', fields: ['email'] },
        { table: 'invoices', id: invoice!.id, kind: 'missing', fields: [] },
      ]),
    );
    expect(report.drift).toHaveLength(3);
    expect(report.repaired).toBe(3);
    expect(report.checked.subscriptions).toBeGreaterThanOrEqual(2);
    expect(new Set(progress)).toEqual(new Set(['customers', 'subscriptions', 'invoices']));

    expect(await sql(`select status, quantity from subscriptions where id = ?`, [subId])).toEqual([{ status: 'canceled', quantity: 2 }]);
    expect(await sql(`select email from customers where id = ?`, [customerId])).toEqual([{ email: 'held@example.com' }]);
    expect(await sql(`select id from invoices where id = ?`, [invoice!.id])).toHaveLength(1);
    expect((await sql(`select id from invoice_lines where invoice_id = ?`, [invoice!.id])).length).toBeGreaterThan(0);

    const gauge = (await webhookMetrics.syncDriftRows.get()).values;
    expect(gauge.find((v) => v.labels.table === 'subscriptions')?.value).toBe(1);

    // Repaired: a second run finds nothing.
    const clean = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(clean.drift).toEqual([]);
    expect((await webhookMetrics.syncDriftRows.get()).values.find((v) => v.labels.table === 'subscriptions')?.value).toBe(0);
  });

  it('the periodic job starts from the newest event on a new installation, then catches up what webhooks missed', async () => {
    const fresh = await gateway(side, { pollIntervalMs: 3_600_000 });
    const job = startPeriodicSync({ orm: fresh.orm, stripe: side.stripe, catalog: side.catalog, intervalMs: 3_600_000, onMissed: () => fresh.worker.notify() });
    try {
      fresh.worker.start();
      await job.runNow();
      // History is not replayed: only the cursor was recorded.
      const newest = (await side.stripe.events.list({ limit: 1 })).data[0]!;
      expect(await readEventsCursor(fresh.orm.em.fork())).toEqual({ id: newest.id, created: newest.created });
      expect(await fresh.orm.em.fork().count(WebhookEvent, {})).toBe(0);

      // No endpoint delivers to this gateway: only the job can bring this customer in.
      const customer = await side.stripe.customers.create({ email: 'periodic@example.com' });
      await job.runNow();
      await eventually('the customer mirrored', async () => (await fresh.orm.em.getConnection().execute(`select 1 from customers where id = ?`, [customer.id])).length === 1);
    } finally {
      await job.stop();
      await fresh.close();
    }
  });
});
