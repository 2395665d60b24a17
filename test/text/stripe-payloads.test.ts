/**
 * Stripe objects holding text PostgreSQL cannot hold (U+0000, lone surrogates), and events that fail
 * for another reason, never stop a pipeline: webhooks are acknowledged and stored losslessly, the
 * mirror holds U+FFFD, `syncMissedEvents` (what `sync` runs), the periodic sync and `syncFull` park or
 * skip what they cannot apply with its reason and go on, and the events cursor keeps moving.
 */
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEventsCursor, readEventsSyncRun, startPeriodicSync, syncFull, syncMissedEvents } from '../../src/stripe/sync/index.js';
import { webhookMetrics } from '../../src/stripe/webhooks/metrics.js';
import { WebhookWorker } from '../../src/stripe/webhooks/worker.js';
import { eventually } from '../support/eventually.js';
import { allEvents, gateway, stripeSide, type Gateway, type StripeSide } from '../webhooks/support.js';

const FFFD = '\uFFFD';

/** An emulator with the catalog and a database of its own for the enclosing describe block. */
function freshStripeAndDatabase(set: (side: StripeSide, gw: Gateway) => void): void {
  let side: StripeSide | undefined;
  let gw: Gateway | undefined;
  beforeAll(async () => {
    side = await stripeSide();
    gw = await gateway(side);
    set(side, gw);
  });
  afterAll(async () => {
    await gw?.close();
    await side?.close();
  });
}

const rows = <T = Record<string, unknown>>(gw: Gateway, q: string, params: unknown[] = []) => gw.orm.em.getConnection().execute<T[]>(q, params);

async function faults(side: StripeSide, spec: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${side.emu.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  if (!res.ok) throw new Error(`faults: ${res.status}`);
}

async function parkedCount(): Promise<number> {
  return (await webhookMetrics.parked.get()).values.reduce((n, v) => n + v.value, 0);
}

describe('webhooks', () => {
  let side: StripeSide;
  let gw: Gateway;
  freshStripeAndDatabase((s, g) => ((side = s), (gw = g)));

  it('a customer whose name holds U+0000: 2xx, stored losslessly, mirrored with U+FFFD, and later events still apply', async () => {
    const customer = await side.stripe.customers.create({ name: 'Ada\u0000Lovelace', email: 'ada@example.com' });
    const created = (await allEvents(side.stripe)).find((e) => e.type === 'customer.created' && (e.data.object as Stripe.Customer).id === customer.id)!;
    const body = JSON.stringify(created);
    expect(body).toContain('\\u0000');
    const signature = side.stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_webhooktestsecret0123456789' });
    expect((await gw.post(body, signature)).status).toBe(200);

    // Lossless: the text as received; `payload` (what the worker applies) has the replacement.
    const [stored] = await rows<{ payload_text: string; name: string }>(gw, `select payload_text, payload->'data'->'object'->>'name' as name from webhook_events where id = ?`, [created.id]);
    expect(stored!.payload_text).toBe(body);
    expect((JSON.parse(stored!.payload_text) as Stripe.Event & { data: { object: Stripe.Customer } }).data.object.name).toBe('Ada\u0000Lovelace');
    expect(stored!.name).toBe(`Ada${FFFD}Lovelace`);

    const outcomes = await gw.worker.drain();
    expect(outcomes.map((o) => o.status)).toEqual(['processed']);
    expect(await rows(gw, `select name, raw->>'name' as raw_name from customers where id = ?`, [customer.id])).toEqual([
      { name: `Ada${FFFD}Lovelace`, raw_name: `Ada${FFFD}Lovelace` },
    ]);

    // The next event about the same customer still applies.
    await side.stripe.customers.update(customer.id, { name: 'Ada Lovelace' });
    const updated = (await allEvents(side.stripe)).find((e) => e.type === 'customer.updated' && (e.data.object as Stripe.Customer).id === customer.id)!;
    expect((await gw.deliver(updated)).status).toBe(200);
    expect((await gw.worker.drain()).map((o) => o.status)).toEqual(['processed']);
    expect(await rows(gw, `select name from customers where id = ?`, [customer.id])).toEqual([{ name: 'Ada Lovelace' }]);
  });

  it('a lone surrogate in a payload: 2xx, stored losslessly, mirrored with U+FFFD', async () => {
    const customer = await side.stripe.customers.create({ name: 'placeholder' });
    const created = (await allEvents(side.stripe)).find((e) => e.type === 'customer.created' && (e.data.object as Stripe.Customer).id === customer.id)!;
    // The SDK cannot send a lone surrogate, but a payload can carry one: JSON escapes it.
    const body = JSON.stringify(created).replace('"name":"placeholder"', '"name":"x\\ud800y","description":"\\udfff"');
    const signature = side.stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_webhooktestsecret0123456789' });
    expect((await gw.post(body, signature)).status).toBe(200);
    const [stored] = await rows<{ payload_text: string }>(gw, `select payload_text from webhook_events where id = ?`, [created.id]);
    expect(stored!.payload_text).toBe(body);
    expect((JSON.parse(stored!.payload_text) as { data: { object: { name: string } } }).data.object.name).toBe('x\ud800y');
    expect((await gw.worker.drain()).map((o) => o.status)).toEqual(['processed']);
    expect(await rows(gw, `select name, raw->>'description' as description from customers where id = ?`, [customer.id])).toEqual([
      { name: `x${FFFD}y`, description: FFFD },
    ]);
  });

  it('an ordinary payload is stored once, as jsonb only', async () => {
    const customer = await side.stripe.customers.create({ name: 'Grace 😀' });
    const created = (await allEvents(side.stripe)).find((e) => e.type === 'customer.created' && (e.data.object as Stripe.Customer).id === customer.id)!;
    expect((await gw.deliver(created)).status).toBe(200);
    expect(await rows(gw, `select payload_text from webhook_events where id = ?`, [created.id])).toEqual([{ payload_text: null }]);
    await gw.worker.drain();
    expect(await rows(gw, `select name from customers where id = ?`, [customer.id])).toEqual([{ name: 'Grace 😀' }]);
  });
});

/**
 * The emulator's events, in order: a customer whose name holds U+0000; a customer whose card is attached
 * (`payment_method.attached` carries no customer copy, so it re-reads the customer, which the emulator
 * then fails with 500s: that event cannot be applied); a later ordinary customer.
 */
async function troublesomeHistory(side: StripeSide): Promise<{ nul: string; failing: string; failingEvent: string; later: string }> {
  const nul = await side.stripe.customers.create({ name: 'Nul\u0000Name' });
  const failing = await side.stripe.customers.create({ name: 'Unreadable' });
  await side.stripe.paymentMethods.attach('pm_card_visa', { customer: failing.id });
  const later = await side.stripe.customers.create({ name: 'Later' });
  await faults(side, { status: 500, count: 100_000, pathPrefix: `/v1/customers/${failing.id}` });
  const failingEvent = (await allEvents(side.stripe)).find((e) => e.type === 'payment_method.attached')!.id;
  return { nul: nul.id, failing: failing.id, failingEvent, later: later.id };
}

describe('sync (events.list)', () => {
  let side: StripeSide;
  let gw: Gateway;
  freshStripeAndDatabase((s, g) => ((side = s), (gw = g)));

  it('goes past a U+0000 payload and an event that fails to apply, parks the latter with its reason, and moves the cursor', async () => {
    const h = await troublesomeHistory(side);
    const parkedBefore = await parkedCount();
    const report = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });

    expect(report.parked).toEqual([{ id: h.failingEvent, type: 'payment_method.attached', reason: expect.stringMatching(/\S/) }]);
    expect(report.failed).toBe(1);
    expect(await parkedCount()).toBe(parkedBefore + 1);
    expect(await rows(gw, `select status, last_error is not null as has_reason from webhook_events where id = ?`, [h.failingEvent])).toEqual([
      { status: 'parked', has_reason: true },
    ]);
    // Everything else applied, the U+0000 customer with the replacement; its payload kept as listed.
    expect(await rows(gw, `select id, name from customers where id in (?, ?) order by name`, [h.later, h.nul])).toEqual([
      { id: h.later, name: 'Later' },
      { id: h.nul, name: `Nul${FFFD}Name` },
    ]);
    const [kept] = await rows<{ payload_text: string }>(gw, `select payload_text from webhook_events where object_id = ? and type = 'customer.created'`, [h.nul]);
    expect((JSON.parse(kept!.payload_text) as { data: { object: { name: string } } }).data.object.name).toBe('Nul\u0000Name');
    const newest = (await side.stripe.events.list({ limit: 1 })).data[0]!;
    expect((await readEventsCursor(gw.orm.em.fork()))?.id).toBe(newest.id);
    expect(await readEventsSyncRun(gw.orm.em)).toMatchObject({ ok: true, consecutiveFailures: 0 });

    // The next run starts after the cursor: nothing is listed twice, nothing is stuck.
    const customer = await side.stripe.customers.create({ name: 'After' });
    const next = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(next).toMatchObject({ listed: 1, processed: 1, failed: 0, parked: [] });
    expect(await rows(gw, `select name from customers where id = ?`, [customer.id])).toEqual([{ name: 'After' }]);
  });

  it('full sync: a U+0000 name is no drift, and an object it cannot read is skipped with its reason while the rest is checked', async () => {
    // A mirror row whose Stripe copy cannot be read (the emulator fails every request about it).
    await rows(gw, `insert into customers (id, external_id, metadata, deleted, created_at, raw, synced_at) values ('cus_ghost', null, '{}', false, now(), '{}', now())`);
    await faults(side, { status: 500, count: 100_000, pathPrefix: '/v1/customers/cus_ghost' });
    await rows(gw, `update customers set name = 'tampered' where name = 'Later'`);
    const report = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(report.failed).toEqual([{ table: 'customers', id: 'cus_ghost', reason: expect.stringMatching(/\S/) }]);
    // The rest was checked and repaired; the U+0000 customer matches its mirror (no drift).
    expect(report.drift.map((d) => [d.table, d.kind, d.fields])).toEqual([['customers', 'changed', ['name']]]);
    expect(await rows(gw, `select count(*)::int as n from customers where name = 'Later'`)).toEqual([{ n: 1 }]);
  });
});

describe('periodic sync', () => {
  let side: StripeSide;
  let gw: Gateway;
  let worker: WebhookWorker | undefined;
  freshStripeAndDatabase((s, g) => ((side = s), (gw = g)));
  afterEach(async () => {
    await worker?.stop();
  });

  it('stores past a U+0000 payload, moves the cursor, and the workers park the event that fails', async () => {
    const h = await troublesomeHistory(side);
    // As in `serve`: the periodic sync fills the inbox, the running workers apply it (short backoff here).
    worker = new WebhookWorker({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, pollIntervalMs: 20, retryBaseMs: 5, maxAttempts: 2 });
    worker.start();
    const periodic = startPeriodicSync({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog, intervalMs: 3_600_000, firstRun: 'all', onMissed: () => worker!.notify() });
    try {
      await periodic.runNow();
    } finally {
      await periodic.stop();
    }
    const newest = (await side.stripe.events.list({ limit: 1 })).data[0]!;
    expect((await readEventsCursor(gw.orm.em.fork()))?.id).toBe(newest.id);
    expect(await readEventsSyncRun(gw.orm.em)).toMatchObject({ ok: true });
    // Two failed attempts at a customer the emulator answers with 500s: slow on a loaded machine, so this wait gets the test's budget.
    await eventually('the failing event to be parked', async () => (await rows(gw, `select 1 from webhook_events where id = ? and status = 'parked'`, [h.failingEvent])).length === 1, undefined, { timeout: 55_000 });
    await eventually('the inbox to be worked off', async () => (await rows(gw, `select 1 from webhook_events where status in ('pending', 'processing')`)).length === 0);
    expect(await rows(gw, `select id, name from customers where id in (?, ?) order by name`, [h.later, h.nul])).toEqual([
      { id: h.later, name: 'Later' },
      { id: h.nul, name: `Nul${FFFD}Name` },
    ]);
  });
});
