/**
 * What a worker batch writes once instead of per event, checked on one batch that holds a customer's
 * whole story (subscription, a renewal that fails, opens a dunning case and is then paid):
 * - its invoice rows (src/stripe/mirror/batch.ts) go in a few statements, yet everything in the batch
 *   that reads them sees each event's copy: the dunning case must be opened
 *   (dunning reads the invoice's status and attempt count) and closed (it reads the status again), and
 *   the mirror must hold every invoice as the emulator does;
 * - the customer's revenue history is recomputed at the batch's end and where a read of it must see it
 *   mid-batch (the claim defers it, src/db/entities/revenue.ts), not after each of its subscription
 *   writes and MRR points;
 * - the subscription rows, customer rows and MRR points of different customers go in one statement each,
 *   and their MRR_UPDATED signals' movement kinds are read in one statement at the batch's end;
 * - a movement kind is still read as it was right after its event when a later event of the batch
 *   changes the same customer's history (a subscription created and canceled in the same second).
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDunning } from '../../src/billing/dunning/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import { loadConfig } from '../../src/config.js';
import { createSignalBus } from '../../src/events/index.js';
import { chainAfterEvents } from '../../src/stripe/webhooks/after-event.js';
import { logger } from '../../src/log.js';
import { isHandledEventType } from '../../src/stripe/sync/handlers.js';
import { advanceClock } from '../support/test-clock.js';
import { allEvents, DAY, gateway, planPrice, stripeSide, type Gateway, type StripeSide } from './support.js';

let side: StripeSide;
let gw: Gateway;

beforeAll(async () => {
  side = await stripeSide();
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: 'invoice-rows-test-secret-0123456789abcdef' });
  const dunning = createDunning({ schedule: config.dunning.schedule, notifiers: [], log: logger });
  const signals = createSignals({ bus: createSignalBus(), config });
  gw = await gateway(side, { batchSize: 1000, afterEvent: chainAfterEvents(signals.afterEvent, dunning.afterEvent) });
});
afterAll(async () => {
  await gw?.close();
  await side?.close();
});

const sql = () => gw.orm.em.fork() as SqlEntityManager;

describe('a worker batch', () => {
  it('writes its invoice rows in a few statements, dunning in it opening and closing the case from each event’s copy, and recomputes the revenue history only where it is read', async () => {
    const { stripe } = side;
    const start = Date.UTC(2026, 0, 1) / 1000;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: start });
    const customer = await stripe.customers.create({ email: 'rows@example.com', test_clock: clock.id });
    const visa = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: visa.id } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: (await planPrice(stripe, 'pro_monthly')).id }] });
    const failing = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
    await stripe.subscriptions.update(sub.id, { default_payment_method: failing.id });
    // The renewal is drafted at the period end, charged an hour later, and fails.
    await advanceClock(stripe, clock.id, sub.items.data[0]!.current_period_end + 3600);
    const renewal = (await stripe.invoices.list({ subscription: sub.id, status: 'open' })).data[0]!;
    expect(renewal.attempt_count).toBe(1);
    await stripe.subscriptions.update(sub.id, { default_payment_method: visa.id });
    await stripe.invoices.pay(renewal.id!, { payment_method: visa.id });
    await advanceClock(stripe, clock.id, sub.items.data[0]!.current_period_end + 2 * DAY);

    const events = (await allEvents(stripe)).filter((e) => isHandledEventType(e.type));
    const invoiceEvents = events.filter((e) => e.type.startsWith('invoice.')).length;
    expect(invoiceEvents).toBeGreaterThanOrEqual(8);
    for (const e of events) expect((await gw.deliver(e)).status).toBe(200);

    // Counts the statements that write invoice rows (an upsert fires the insert trigger once per statement).
    await sql().execute(`create table test_invoice_statements (n int not null)`);
    await sql().execute(`create function test_count_invoice_statements() returns trigger language plpgsql as $$ begin insert into test_invoice_statements values (1); return null; end $$`);
    await sql().execute(`create trigger test_count_invoice_statements after insert on invoices for each statement execute function test_count_invoice_statements()`);
    // A recomputation of a customer's revenue history replaces its movements: one delete statement each.
    await sql().execute(`create table test_revenue_refreshes (n int not null)`);
    await sql().execute(`create function test_count_revenue_refreshes() returns trigger language plpgsql as $$ begin insert into test_revenue_refreshes values (1); return null; end $$`);
    await sql().execute(`create trigger test_count_revenue_refreshes after delete on mrr_movements for each statement execute function test_count_revenue_refreshes()`);

    const outcomes = await gw.worker.processBatch();
    expect(outcomes).toHaveLength(events.length);
    expect(outcomes.filter((o) => o.status !== 'processed')).toEqual([]);

    const [{ n }] = await sql().execute<{ n: number }[]>(`select count(*)::int as n from test_invoice_statements`);
    // Written before dunning reads the failed renewal, before it reads the paid one, and at the batch's
    // end; one statement per invoice event otherwise.
    expect(n).toBeLessThanOrEqual(3);
    expect(n).toBeLessThan(invoiceEvents);

    const subscriptionEvents = events.filter((e) => e.type.startsWith('customer.subscription.')).length;
    expect(subscriptionEvents).toBeGreaterThanOrEqual(3);
    const [{ n: refreshes }] = await sql().execute<{ n: number }[]>(`select count(*)::int as n from test_revenue_refreshes`);
    // Once at the batch's end, and once before the customer's next subscription write for the movement
    // kind its creation's MRR_UPDATED asked for (read as it was after that event); without the claim's
    // deferral, once per subscription write and MRR point.
    expect(refreshes).toBe(2);

    const mirrored = await sql().execute<{ id: string; status: string; amount_paid: number; attempt_count: number }[]>(
      `select id, status, amount_paid, attempt_count from invoices order by id`,
    );
    const truth = (await stripe.invoices.list({ customer: customer.id, limit: 100 })).data
      .map((i) => ({ id: i.id!, status: i.status!, amount_paid: i.amount_paid, attempt_count: i.attempt_count }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(mirrored).toEqual(truth);

    const cases = await sql().execute<{ invoice_id: string; status: string; close_reason: string | null }[]>(`select invoice_id, status, close_reason from dunning_cases`);
    expect(cases).toEqual([{ invoice_id: renewal.id, status: 'closed', close_reason: 'paid' }]);
  });

  it('writes the subscription rows, customer rows and MRR points of different customers in one statement each, and reads their movement kinds together', async () => {
    const { stripe } = side;
    const price = (await planPrice(stripe, 'basic_monthly')).id;
    const subs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const customer = await stripe.customers.create({ email: `points${i}@example.com` });
      const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
      await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
      subs.push((await stripe.subscriptions.create({ customer: customer.id, items: [{ price }] })).id);
    }
    // Every event again: those the first test stored are duplicates, the new ones pending.
    for (const e of (await allEvents(stripe)).filter((e) => isHandledEventType(e.type))) expect((await gw.deliver(e)).status).toBe(200);
    const counted = ['subscription_mrr_points', 'subscriptions', 'customers'];
    await sql().execute(`create table test_row_statements (tbl text not null)`);
    await sql().execute(`create function test_count_row_statements() returns trigger language plpgsql as $$ begin insert into test_row_statements values (tg_table_name); return null; end $$`);
    for (const table of counted) await sql().execute(`create trigger test_count_row_statements after insert on ${table} for each statement execute function test_count_row_statements()`);

    const outcomes = await gw.worker.processBatch();
    expect(outcomes.filter((o) => o.status !== 'processed')).toEqual([]);
    const points = await sql().execute<{ subscription_id: string }[]>(`select subscription_id from subscription_mrr_points where subscription_id in (?)`, [subs]);
    expect(new Set(points.map((p) => p.subscription_id))).toEqual(new Set(subs));
    const statements = await sql().execute<{ tbl: string; n: number }[]>(`select tbl, count(*)::int as n from test_row_statements group by tbl order by tbl`);
    expect(statements).toEqual([...counted].sort().map((tbl) => ({ tbl, n: 1 })));
    // Each new customer's MRR_UPDATED says it was new business, as read after its own event.
    const kinds = await sql().execute<{ kind: string }[]>(
      `select b.data->>'kind' as kind from billing_events b join webhook_events w on w.id = b.source_event_id
        where b.type = 'MRR_UPDATED' and w.object_id in (?)`,
      [subs],
    );
    expect(kinds.map((k) => k.kind)).toEqual(['new', 'new', 'new']);
  });

  it('reads a movement kind as it was right after its event, before a later event of the batch changes the customer’s history', async () => {
    const { stripe } = side;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Date.UTC(2026, 2, 1) / 1000 });
    const customer = await stripe.customers.create({ email: 'same-second@example.com', test_clock: clock.id });
    const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    // Created and canceled at the clock's frozen second: after both, the customer's history has no movement then.
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: (await planPrice(stripe, 'pro_monthly')).id }] });
    await stripe.subscriptions.cancel(sub.id);
    for (const e of (await allEvents(stripe)).filter((e) => isHandledEventType(e.type))) expect((await gw.deliver(e)).status).toBe(200);

    const outcomes = await gw.worker.processBatch();
    expect(outcomes.filter((o) => o.status !== 'processed')).toEqual([]);
    const signals = await sql().execute<{ type: string; kind: string; change: number }[]>(
      `select w.type, b.data->>'kind' as kind, (b.data->>'change')::int as change from billing_events b join webhook_events w on w.id = b.source_event_id
        where b.type = 'MRR_UPDATED' and w.object_id = ? order by w.stripe_created_at, w.type`,
      [sub.id],
    );
    const created = signals.find((s) => s.type === 'customer.subscription.created');
    expect(created).toMatchObject({ kind: 'new' });
    expect(created!.change).toBeGreaterThan(0);
  });
});
