/**
 * The meter-event flusher against the emulator over HTTP (official SDK) and a real database
 * (PostgreSQL with TEST_DATABASE_URL, else PGlite): ledger rows reach Stripe Billing Meters exactly
 * once, through resends, 429s, 5xx and permanent rejections.
 */
import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { metricsRegistry } from '../../src/metrics.js';
import { createStripeClient } from '../../src/stripe/client.js';
import {
  listParkedUsage,
  MeterEventFlusher,
  requeueParkedUsage,
  setLedgerStatsSource,
  type MeterEventFlusherOptions,
} from '../../src/stripe/meter-events/index.js';
import { clearTables, createTestOrm, type TestOrm } from '../support/db.js';
import { control, emulatorWithClient } from '../support/emulator.js';
import { identifierCounts, insertUsage, ledger, storedEvents, summarySum, type LedgerRow } from './support.js';
import { eventually } from '../support/eventually.js';

const catalog = loadCatalog();
const METER = catalog.meters[0]!; // api_calls

let db: TestOrm;
let emu: RunningEmulator;
let stripe: Stripe;
let meterId: string;
let customers: string[];
const running: MeterEventFlusher[] = [];

beforeAll(async () => {
  db = await createTestOrm();
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(async () => {
  await emu?.close();
  await db?.dispose();
});

beforeEach(async () => {
  await clearTables(db.orm);
  await control(emu, 'reset', {});
  meterId = (await stripe.billing.meters.create({ display_name: METER.displayName, event_name: METER.eventName, default_aggregation: { formula: 'sum' } })).id;
  customers = [];
  for (let i = 0; i < 4; i++) customers.push((await stripe.customers.create({ email: `u${i}@example.com` })).id);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  await control(emu, 'faults', {});
});

function flusher(opts: Partial<MeterEventFlusherOptions> = {}, client?: Stripe): MeterEventFlusher {
  const f = new MeterEventFlusher({
    orm: db.orm,
    stripe: client ?? createStripeClient({ secretKey: 'sk_test_flusher', apiBase: emu.url }),
    catalog,
    ratePerSecond: 2000,
    batchSize: 100,
    intervalMs: 20,
    concurrency: 8,
    retryBaseMs: 10,
    rateLimitBaseMs: 20,
    ...opts,
  });
  running.push(f);
  return f;
}

const now = () => Math.floor(Date.now() / 1000);

function rows(n: number, opts: { prefix?: string; quantity?: (i: number) => number; meter?: (i: number) => string; timestamp?: (i: number) => number } = {}): LedgerRow[] {
  const t = now() - 3600;
  return Array.from({ length: n }, (_, i) => ({
    id: `${opts.prefix ?? 'r'}-${i}-${randomUUID()}`,
    customerId: customers[i % customers.length]!,
    meter: opts.meter?.(i) ?? (i % 2 ? METER.id : METER.eventName),
    quantity: opts.quantity?.(i) ?? (i % 7) + 1,
    timestamp: opts.timestamp?.(i) ?? t + (i % 600),
  }));
}

/** Per customer, what the ledger says was used. */
function expectedSums(list: LedgerRow[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of list) m.set(r.customerId, (m.get(r.customerId) ?? 0) + r.quantity);
  return m;
}

async function expectStripeAgrees(list: LedgerRow[]): Promise<void> {
  const from = Math.min(...list.map((r) => r.timestamp));
  const to = Math.max(...list.map((r) => r.timestamp));
  for (const [customer, sum] of expectedSums(list)) expect(await summarySum(stripe, meterId, customer, from, to)).toBe(sum);
}

async function backlog(f: MeterEventFlusher): Promise<number> {
  return (await f.stats()).backlog;
}

describe('meter-event flusher', () => {
  it('sends each unsent row once, as Stripe expects it, and marks it sent', async () => {
    const list = rows(30);
    await insertUsage(db.orm, list);
    const f = flusher();
    expect(await f.stats()).toMatchObject({ backlog: 30, parked: 0 });
    expect((await f.stats()).lagSeconds).toBeGreaterThanOrEqual(0);

    const r = await f.drain();
    expect(r).toMatchObject({ claimed: 30, sent: 30, duplicates: 0, retried: 0, parked: 0, released: 0 });
    const events = storedEvents(emu, list.map((x) => x.id));
    expect(events).toHaveLength(30);
    const byId = new Map(events.map((e) => [e.identifier, e]));
    for (const row of list) {
      expect(byId.get(row.id)).toMatchObject({
        event_name: METER.eventName,
        timestamp: row.timestamp,
        payload: { stripe_customer_id: row.customerId, value: String(row.quantity) },
      });
    }
    const after = await ledger(db.orm);
    expect(after.every((x) => x.sent_at !== null && x.send_attempts === 1 && x.last_error === null)).toBe(true);
    expect(await f.stats()).toMatchObject({ backlog: 0, lagSeconds: 0 });
    await expectStripeAgrees(list);

    // Nothing left: a second pass claims nothing and Stripe still counts each row once.
    expect((await f.drain()).claimed).toBe(0);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(30);
  });

  it('a crash between sending and marking only resends what Stripe refuses as a duplicate', async () => {
    const list = rows(40);
    await insertUsage(db.orm, list);
    expect((await flusher().drain()).duplicates).toBe(0);
    // The state a crash after the requests and before the marking statement leaves behind.
    const unmarked = list.slice(0, 25).map((r) => r.id);
    await db.orm.em.getConnection().execute(`update "usage_records" set "sent_at" = null where "id" in (?)`, [unmarked], 'run');

    const duplicatesBefore = await duplicatesSent();
    const r = await flusher().drain();
    expect(r).toMatchObject({ claimed: 25, sent: 25, duplicates: 25 });
    // The count the other tests expect to stay at 0 does see resends.
    expect((await duplicatesSent()) - duplicatesBefore).toBe(25);
    expect([...identifierCounts(emu).values()].every((n) => n === 1)).toBe(true);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(40);
    expect((await ledger(db.orm)).every((x) => x.sent_at !== null)).toBe(true);
    await expectStripeAgrees(list);
  });

  it('stream: new rows go up to 100 per request on the v2 meter event stream; resends and old rows one by one', async () => {
    const recent = rows(250, { prefix: 'stream', timestamp: (i) => now() - 120 + (i % 100) });
    const old = rows(10, { prefix: 'old', timestamp: (i) => now() - 7200 + i });
    await insertUsage(db.orm, [...recent, ...old]);
    const { client, requests } = countingClient();
    const f = flusher({ api: 'stream', batchSize: 300 }, client);
    const r = await f.drain();
    expect(r).toMatchObject({ claimed: 260, sent: 260, duplicates: 0, retried: 0, parked: 0 });
    // 250 new rows in 3 stream requests (100 + 100 + 50), the 10 rows stamped an hour ago one by one.
    expect(requests()).toEqual({ stream: 3, events: 10 });
    // The stream validates after answering: wait for the emulator to store what it accepted.
    await eventually('the emulator to store the streamed events', () => storedEvents(emu, recent.map((x) => x.id)).length, (n) => n === 250);
    const byId = new Map(storedEvents(emu, recent.map((x) => x.id)).map((e) => [e.identifier, e]));
    for (const row of recent) {
      expect(byId.get(row.id)).toMatchObject({ event_name: METER.eventName, timestamp: row.timestamp, payload: { stripe_customer_id: row.customerId, value: String(row.quantity) } });
    }
    await expectStripeAgrees([...recent, ...old]);

    // A crash after the stream request, before the marking: the rows come back claimed before, and go one
    // by one, so Stripe's refusal of what it holds is seen and nothing counts twice.
    const unmarked = recent.slice(0, 30).map((x) => x.id);
    await db.orm.em.getConnection().execute(`update "usage_records" set "sent_at" = null, "next_attempt_at" = now() - interval '1 second' where "id" in (?)`, [unmarked], 'run');
    const before = requests();
    expect(await flusher({ api: 'stream' }, client).drain()).toMatchObject({ claimed: 30, sent: 30, duplicates: 30 });
    expect(requests()).toEqual({ stream: before.stream, events: before.events + 30 });
    expect([...identifierCounts(emu).values()].every((n) => n === 1)).toBe(true);
    await expectStripeAgrees([...recent, ...old]);
  });

  it('several flushers on one ledger never take the same row', async () => {
    const list = rows(600);
    await insertUsage(db.orm, list);
    const a = flusher({ batchSize: 50 });
    const b = flusher({ batchSize: 50 });
    const c = flusher({ batchSize: 50 });
    const results = await Promise.all([a.drain(), b.drain(), c.drain()]);
    // Rows leased by one are invisible to the others: nobody resends (duplicates would show it).
    expect(results.reduce((s, r) => s + r.sent, 0)).toBe(600);
    expect(results.reduce((s, r) => s + r.duplicates, 0)).toBe(0);
    expect(await backlog(a)).toBe(0);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(600);
    await expectStripeAgrees(list);
  });

  it('10,000 rows written in a burst all reach Stripe once; the ledger absorbs the burst', async () => {
    const start = now() - 7200;
    // One statement, as a burst of reportUsage batches would leave it.
    await db.orm.em.getConnection().execute(
      `insert into "usage_records" ("id", "customer_id", "meter", "quantity", "timestamp", "idempotency_key")
       select 'burst-' || g, (array[?, ?, ?, ?])[1 + g % 4], ?, 1 + g % 5, to_timestamp(? + g % 3600), 'k-' || g from generate_series(0, 9999) as g`,
      [...customers, METER.id, start],
      'run',
    );
    const f = flusher({ ratePerSecond: 5000, batchSize: 500, concurrency: 16 });
    const duplicatesBefore = await duplicatesSent();
    expect(await backlog(f)).toBe(10_000);
    f.start();
    await eventually('an empty backlog', () => backlog(f), (n) => n === 0, { timeout: 55_000, interval: 100 });
    await f.stop();

    const ids = Array.from({ length: 10_000 }, (_, g) => `burst-${g}`);
    const counts = identifierCounts(emu);
    expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
    // No crash, no resend: the emulator would have absorbed one, the flusher's own count shows it.
    expect((await duplicatesSent()) - duplicatesBefore).toBe(0);
    expect(storedEvents(emu, ids)).toHaveLength(10_000);
    const expected = new Map<string, number>();
    for (let g = 0; g < 10_000; g++) expected.set(customers[g % 4]!, (expected.get(customers[g % 4]!) ?? 0) + 1 + (g % 5));
    let total = 0;
    for (const [customer, sum] of expected) {
      const seen = await summarySum(stripe, meterId, customer, start, start + 3600);
      expect(seen).toBe(sum);
      total += seen;
    }
    expect(total).toBe(30_000);
    const unsent = await db.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from "usage_records" where "sent_at" is null`);
    expect(Number(unsent[0]!.n)).toBe(0);
  });

  it('a 429 pauses the flusher (honouring Retry-After), halves its rate, and nothing is lost or sent twice', async () => {
    const list = rows(120);
    await insertUsage(db.orm, list);
    await control(emu, 'faults', { status: 429, count: 2, pathPrefix: '/v1/billing/meter_events', retryAfter: 2 });
    const before = await counterValue('usage_meter_events_rate_limited_total');
    const duplicatesBefore = await duplicatesSent();
    const f = flusher({ ratePerSecond: 1000, batchSize: 120, concurrency: 1 });

    const t0 = Date.now();
    const first = await f.flushOnce();
    expect(first.rateLimited).toBe(1);
    // Nothing sent before the 429 (one sender); everything released, nothing failed.
    expect(first).toMatchObject({ claimed: 120, sent: 0, released: 120, retried: 0, parked: 0 });
    // Retry-After (2 s) rules over the 20 ms backoff.
    expect(f.pausedUntil).toBeGreaterThanOrEqual(t0 + 2000);
    expect(f.currentRatePerSecond).toBe(500);
    // While paused, nothing is claimed.
    expect((await f.flushOnce()).claimed).toBe(0);

    f.start();
    await eventually('an empty backlog', () => backlog(f), (n) => n === 0);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(120);
    expect([...identifierCounts(emu).values()].every((n) => n === 1)).toBe(true);
    expect((await duplicatesSent()) - duplicatesBefore).toBe(0);
    await expectStripeAgrees(list);
    expect((await counterValue('usage_meter_events_rate_limited_total')) - before).toBe(2);
    // 429s are not the rows' fault: no attempt is counted against them.
    expect((await ledger(db.orm)).every((x) => x.send_attempts === 1 && x.parked_at === null)).toBe(true);
  });

  it("keeps under Stripe's own per-second limit: every 429 is backed off and each row still arrives once", async () => {
    const { emu: limited, stripe: client } = await emulatorWithClient({ meterEventsPerSecond: 40 });
    try {
      const meter = await client.billing.meters.create({ display_name: 'API calls', event_name: METER.eventName, default_aggregation: { formula: 'sum' } });
      const customer = (await client.customers.create()).id;
      const t = now() - 600;
      const list = Array.from({ length: 150 }, (_, i) => ({ id: `lim-${i}`, customerId: customer, meter: METER.id, quantity: 2, timestamp: t + i }));
      await insertUsage(db.orm, list);
      const f = flusher({ ratePerSecond: 400, batchSize: 50, concurrency: 4 }, createStripeClient({ secretKey: 'sk_test_flusher', apiBase: limited.url }));
      const duplicatesBefore = await duplicatesSent();
      f.start();
      await eventually('an empty backlog', () => backlog(f), (n) => n === 0);
      await f.stop();
      expect(storedEvents(limited, list.map((r) => r.id))).toHaveLength(150);
      expect([...identifierCounts(limited).values()].every((n) => n === 1)).toBe(true);
      expect((await duplicatesSent()) - duplicatesBefore).toBe(0);
      expect(await summarySum(client, meter.id, customer, t, t + 150)).toBe(300);
    } finally {
      await limited.close();
    }
  });

  it('server errors are retried with backoff and never park a row', async () => {
    const list = rows(20);
    await insertUsage(db.orm, list);
    await control(emu, 'faults', { status: 500, count: 5, pathPrefix: '/v1/billing/meter_events' });
    const f = flusher({ maxAttempts: 1, concurrency: 1, batchSize: 20 });
    const first = await f.flushOnce();
    expect(first).toMatchObject({ claimed: 20, sent: 15, retried: 5, parked: 0 });
    const failed = (await ledger(db.orm)).filter((x) => x.sent_at === null);
    expect(failed).toHaveLength(5);
    expect(failed.every((x) => x.send_attempts === 1 && x.parked_at === null && /^500 api_error: An unknown error/.test(x.last_error ?? ''))).toBe(true);

    f.start();
    await eventually('an empty backlog', () => backlog(f), (n) => n === 0);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(20);
    await expectStripeAgrees(list);
    expect((await ledger(db.orm)).every((x) => x.last_error === null && x.parked_at === null)).toBe(true);
  });

  it('a row Stripe rejects is parked after maxAttempts and never blocks the others; an operator sees and requeues it', async () => {
    const good = rows(50);
    const tooOld = { id: `old-${randomUUID()}`, customerId: customers[0]!, meter: METER.id, quantity: 9, timestamp: now() - 40 * 86_400 };
    const unknownMeter = { id: `unknown-${randomUUID()}`, customerId: customers[1]!, meter: 'gpu_seconds', quantity: 1, timestamp: now() - 60 };
    // The bad rows are the oldest: first in the queue.
    await insertUsage(db.orm, [tooOld, unknownMeter]);
    await insertUsage(db.orm, good);
    const f = flusher({ maxAttempts: 3, batchSize: 10 });
    f.start();
    await eventually('2 parked and an empty backlog', async () => ({ parked: (await f.stats()).parked, backlog: await backlog(f) }), (s) => s.parked === 2 && s.backlog === 0);
    await f.stop();

    expect(storedEvents(emu, good.map((x) => x.id))).toHaveLength(50);
    expect(storedEvents(emu, [tooOld.id, unknownMeter.id])).toHaveLength(0);
    await expectStripeAgrees(good);
    const parked = await listParkedUsage(db.orm);
    expect(parked.map((p) => p.id).sort()).toEqual([tooOld.id, unknownMeter.id].sort());
    const old = parked.find((p) => p.id === tooOld.id)!;
    expect(old).toMatchObject({ sendAttempts: 3, quantity: 9, meter: METER.id });
    expect(old.lastError).toMatch(/^400 invalid_request_error \(parameter_invalid\): timestamp must be within the past 35 days/);
    expect(parked.find((p) => p.id === unknownMeter.id)!.lastError).toMatch(/unknown meter "gpu_seconds"/);

    // What the operator sees on /metrics.
    const detach = setLedgerStatsSource(() => f.stats());
    try {
      const text = await metricsRegistry.metrics();
      expect(text).toMatch(/^usage_meter_events_parked 2$/m);
      expect(text).toMatch(/^usage_meter_events_backlog 0$/m);
      expect(text).toMatch(/^usage_meter_events_lag_seconds 0$/m);
    } finally {
      detach();
    }

    // Requeued after a fix (here: the catalog learns the meter), the row goes through.
    expect(await requeueParkedUsage(db.orm, [unknownMeter.id])).toBe(1);
    expect(await backlog(f)).toBe(1);
    await stripe.billing.meters.create({ display_name: 'GPU', event_name: 'gpu_seconds', default_aggregation: { formula: 'sum' } });
    const fixed = flusher({ catalog: { meters: [...catalog.meters, { id: 'gpu_seconds', displayName: 'GPU', eventName: 'gpu_seconds', aggregation: 'sum' }] } });
    expect(await fixed.drain()).toMatchObject({ sent: 1 });
    expect(storedEvents(emu, [unknownMeter.id])).toHaveLength(1);
    expect((await listParkedUsage(db.orm)).map((p) => p.id)).toEqual([tooOld.id]);
  });

  it('notify() flushes new rows without waiting for the poll; stop() releases what it did not send', async () => {
    const f = flusher({ intervalMs: 3_600_000 });
    f.start();
    const list = rows(10);
    await insertUsage(db.orm, list);
    f.notify();
    await eventually('an empty backlog', () => backlog(f), (n) => n === 0);
    expect(storedEvents(emu, list.map((x) => x.id))).toHaveLength(10);

    // A slow rate: stop() lands mid-batch, and what was not sent is due again at once for another flusher.
    const slow = flusher({ ratePerSecond: 5, batchSize: 40, concurrency: 1 });
    const more = rows(40, { prefix: 'more' });
    await insertUsage(db.orm, more);
    slow.start();
    await eventually('2 more events at Stripe', () => storedEvents(emu, more.map((x) => x.id)).length, (n) => n >= 2);
    await slow.stop();
    const sentSoFar = storedEvents(emu, more.map((x) => x.id)).length;
    expect(sentSoFar).toBeLessThan(40);
    expect(await backlog(f)).toBe(40 - sentSoFar);
    const rest = await flusher().drain();
    expect(rest).toMatchObject({ claimed: 40 - sentSoFar, sent: 40 - sentSoFar, duplicates: 0 });
    expect(storedEvents(emu, more.map((x) => x.id))).toHaveLength(40);
  });
});

/** A counter's value summed over the series whose labels include `labels` (all series when omitted). */
async function counterValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  const data = await metric!.get();
  return data.values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((s, v) => s + v.value, 0);
}

/**
 * Rows this process resent to Stripe and Stripe refused as already held. The emulator stores each
 * identifier once whatever happens, so counting stored events cannot show a double send: this can.
 */
const duplicatesSent = (): Promise<number> => counterValue('usage_meter_events_sent_total', { result: 'duplicate' });

/** A client for the flusher that counts its meter-event requests by API (the SDK's request events). */
function countingClient(): { client: Stripe; requests: () => { stream: number; events: number } } {
  const client = createStripeClient({ secretKey: 'sk_test_flusher', apiBase: emu.url });
  const seen = { stream: 0, events: 0 };
  client.on('request', (e: { path?: string }) => {
    if (e.path === '/v2/billing/meter_event_stream') seen.stream++;
    if (e.path === '/v1/billing/meter_events') seen.events++;
  });
  return { client, requests: () => ({ ...seen }) };
}
