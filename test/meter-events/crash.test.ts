/**
 * The crash the identifier exists for: the compiled gateway flushes the usage ledger to the emulator
 * and is killed with SIGKILL in the middle of a batch (events sent, rows not yet marked). A restarted
 * gateway resends those rows once their lease ends; Stripe refuses them as duplicates, so nothing is
 * counted twice and nothing is lost. Real process, real database, real emulator over HTTP.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog.js';
import { closeOrm, openOrm, type Orm } from '../../src/db/orm.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { emulatorWithClient } from '../support/emulator.js';
import { identifierCounts, insertUsage, storedEvents, summarySum, type LedgerRow } from './support.js';
import { eventually } from '../support/eventually.js';

const METER = loadCatalog().meters[0]!;
const ROWS = 1000;

let emu: RunningEmulator;
let stripe: Stripe;
let database: TestDatabase;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const gw of gateways) await gw.stop({ kill: true });
  await emu?.close();
  await database?.dispose();
});

/** The test's own connection to the gateway's database, open only while no gateway holds PGlite. */
async function withDb<T>(fn: (orm: Orm) => Promise<T>): Promise<T> {
  const orm = await openOrm({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR });
  try {
    return await fn(orm);
  } finally {
    await closeOrm(orm);
  }
}

async function markedCount(orm: Orm): Promise<number> {
  const r = await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from "usage_records" where "sent_at" is not null`);
  return Number(r[0]!.n);
}

function start(env: Record<string, string>): Promise<GatewayProcess> {
  return startGatewayProcess(
    { STRIPE_API_BASE: emu.url, ...database.env, LOG_LEVEL: 'error', ...env },
    database.env.DATA_DIR ? { dataDir: database.env.DATA_DIR } : {},
  ).then((gw) => (gateways.push(gw), gw));
}

async function metric(gw: GatewayProcess, line: RegExp): Promise<number | null> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : null;
}

describe('meter-event flusher: killed mid-batch, restarted', () => {
  it('never double counts at Stripe and loses nothing', async () => {
    const customers = [(await stripe.customers.create()).id, (await stripe.customers.create()).id];
    const t0 = Math.floor(Date.now() / 1000) - 1800;
    const rows: LedgerRow[] = Array.from({ length: ROWS }, (_, i) => ({
      id: `crash-${i}`,
      customerId: customers[i % 2]!,
      meter: METER.id,
      quantity: 1 + (i % 3),
      timestamp: t0 + i,
    }));
    await withDb((orm) => insertUsage(orm, rows));
    const ids = rows.map((r) => r.id);

    // One batch holds every row, sent at 200/s: the rows are marked only at the end of the batch
    // (after about 5 s, or at 75 % of the 6 s lease), so a kill after the first events lands between
    // sending and marking.
    const first = await start({
      USAGE_FLUSH_RATE_PER_SECOND: '200',
      USAGE_FLUSH_BATCH_SIZE: String(ROWS),
      USAGE_FLUSH_CONCURRENCY: '4',
      USAGE_FLUSH_LEASE_SECONDS: '6',
    });
    await eventually('150 events at Stripe', () => storedEvents(emu, ids).length, (n) => n >= 150, { interval: 5 });
    await first.stop({ kill: true });
    // Requests the dead process had fully written may still be in the emulator's hands for a moment:
    // events stored after this count are neither lost nor double counted, and the checks below allow for them.
    const sentBeforeCrash = storedEvents(emu, ids).length;
    const markedBeforeCrash = await withDb(markedCount);
    expect(sentBeforeCrash).toBeLessThan(ROWS);
    // Sent but never marked: exactly what a resend must not count twice.
    expect(markedBeforeCrash).toBeLessThan(sentBeforeCrash);

    const second = await start({ USAGE_FLUSH_RATE_PER_SECOND: '1000', USAGE_FLUSH_INTERVAL_MS: '200' });
    await eventually(`${ROWS} events at Stripe`, () => storedEvents(emu, ids).length, (n) => n === ROWS);
    await eventually('an empty backlog', () => metric(second, /^usage_meter_events_backlog (\d+)$/m), (n) => n === 0, { interval: 500 });
    // The restarted gateway sent every row left unmarked exactly once: created at Stripe, or refused as a
    // duplicate. Every row Stripe held before it started (at least those seen stored after the kill) is
    // a duplicate; the rest (not sent, or still in flight at the kill) may be either.
    const duplicate = (await metric(second, /^usage_meter_events_sent_total\{result="duplicate"\} (\d+)$/m)) ?? 0;
    const created = (await metric(second, /^usage_meter_events_sent_total\{result="created"\} (\d+)$/m)) ?? 0;
    expect(created + duplicate).toBe(ROWS - markedBeforeCrash);
    expect(duplicate).toBeGreaterThanOrEqual(sentBeforeCrash - markedBeforeCrash);
    expect(await second.stop()).toBe(0);

    expect(await withDb(markedCount)).toBe(ROWS);
    const counts = identifierCounts(emu);
    expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
    const meter = (await stripe.billing.meters.list()).data.find((m) => m.event_name === METER.eventName)!;
    for (const customer of customers) {
      const expected = rows.filter((r) => r.customerId === customer).reduce((s, r) => s + r.quantity, 0);
      expect(await summarySum(stripe, meter.id, customer, t0, t0 + ROWS)).toBe(expected);
    }
  });
});
