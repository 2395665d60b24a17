/**
 * Meter-event flusher throughput: a burst of ledger rows written at once on a temporary PostgreSQL
 * database, drained to an emulator (in its own process, so the flusher does not share its event loop)
 * through the official SDK, with exactly-once checked at the end (every identifier stored once, the
 * meter event summaries equal to the ledger's sums).
 *
 *   node --experimental-transform-types --no-warnings bench/meter-events/run.ts \
 *     [--rows 10000] [--rate 100000] [--batch 500] [--concurrency 16] [--database-url postgres://…]
 *
 * `--rate` is the token bucket (USAGE_FLUSH_RATE_PER_SECOND); the default here is high enough that the
 * number printed is what the flusher itself sustains. Stripe's live limit is 1,000 calls/s, so in
 * production the configured rate (default 100/s) is the bound, not this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { createBenchDatabase } from '../lib/db.ts';

await import(new URL('../emulator/resolve-ts.ts', import.meta.url).href);
process.setSourceMapsEnabled(false);

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
    'database-url': { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
  strict: false,
});

const CUSTOMERS = 20;

export const part: BenchPart = {
  name: 'meter-events',
  description: 'usage ledger → Stripe Billing Meters: a burst of rows drained by the flusher, exactly once',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    return measure({
      databaseUrl: ctx.databaseUrl,
      rows: Number(ctx.options.rows ?? 10_000),
      rate: Number(ctx.options.rate ?? 100_000),
      batch: Number(ctx.options.batch ?? 500),
      concurrency: Number(ctx.options.concurrency ?? 16),
      log: ctx.log,
    });
  },
};

interface Settings {
  databaseUrl: string;
  rows: number;
  rate: number;
  batch: number;
  concurrency: number;
  log(line: string): void;
}

async function measure(s: Settings): Promise<BenchRow[]> {
  const [{ openOrm, closeOrm }, { MeterEventFlusher }, { createStripeClient }, { loadCatalog }] = await Promise.all([
    import('../../src/db/orm.js'),
    import('../../src/stripe/meter-events/index.js'),
    import('../../src/stripe/client.js'),
    import('../../src/catalog.js'),
  ]);
  const catalog = loadCatalog();
  const meter = catalog.meters[0]!;
  const emulator = await spawnEmulator();
  const db = await tempDatabase(s.databaseUrl);
  const orm = await openOrm({ databaseUrl: db.url });
  try {
    const sdk = new Stripe('sk_test_bench', { host: '127.0.0.1', port: emulator.port, protocol: 'http', maxNetworkRetries: 0 });
    const meterId = (await sdk.billing.meters.create({ display_name: meter.displayName, event_name: meter.eventName, default_aggregation: { formula: 'sum' } })).id;
    const customers: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) customers.push((await sdk.customers.create()).id);
    const start = Math.floor(Date.now() / 1000) - 7200;
    await orm.em.getConnection().execute(
      `insert into "usage_records" ("id", "customer_id", "meter", "quantity", "timestamp", "idempotency_key")
       select 'bench-' || g, (?::text[])[1 + g % ${CUSTOMERS}], ?, 1 + g % 5, to_timestamp(? + g % 3600), 'k-' || g from generate_series(0, ? - 1) as g`,
      [`{${customers.join(',')}}`, meter.id, start, s.rows],
      'run',
    );
    const flusher = new MeterEventFlusher({
      orm,
      stripe: createStripeClient({ secretKey: 'sk_test_bench', apiBase: `http://127.0.0.1:${emulator.port}` }),
      catalog,
      ratePerSecond: s.rate,
      batchSize: s.batch,
      concurrency: s.concurrency,
      intervalMs: 20,
    });
    s.log(`meter-events: ${s.rows} rows, ${CUSTOMERS} customers, rate ${s.rate}/s, batch ${s.batch}, concurrency ${s.concurrency}`);
    const t0 = performance.now();
    const totals = await flusher.drain();
    const seconds = (performance.now() - t0) / 1000;
    const left = (await flusher.stats()).backlog;

    // Exactly once: Stripe's aggregate per customer equals the ledger's, and nothing was resent.
    const expected = await orm.em
      .getConnection()
      .execute<{ customer_id: string; sum: string }[]>(`select "customer_id", sum("quantity") as sum from "usage_records" group by "customer_id"`);
    let exact = left === 0 && totals.sent === s.rows && totals.duplicates === 0;
    for (const row of expected) {
      const page = await sdk.billing.meters.listEventSummaries(meterId, { customer: row.customer_id, start_time: Math.floor(start / 60) * 60, end_time: Math.ceil((start + 3601) / 60) * 60 });
      if (page.data.reduce((a, x) => a + x.aggregated_value, 0) !== Number(row.sum)) exact = false;
    }
    const perSecond = Math.round(s.rows / seconds);
    s.log(`meter-events: ${totals.sent} sent in ${seconds.toFixed(2)} s → ${perSecond}/s; exactly once: ${exact ? 'yes' : 'NO'}`);
    return [
      { metric: `meter events delivered (burst of ${s.rows}, flusher-bound)`, value: perSecond, unit: 'events/s' },
      { metric: `burst of ${s.rows} ledger rows drained`, value: Number(seconds.toFixed(2)), unit: 's' },
      { metric: 'exactly once at the emulator (summaries = ledger sums, no resend)', value: exact ? 1 : 0, unit: 'bool', target: '1', met: exact },
    ];
  } finally {
    await closeOrm(orm);
    await db.drop();
    await emulator.stop();
  }
}

async function spawnEmulator(): Promise<{ port: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A fresh, empty database (`openOrm` migrates it). */
const tempDatabase = (serverUrl: string) => createBenchDatabase(serverUrl, 'meter', { migrate: false });

if (values.serve) {
  const { startEmulator } = await import('@billing-gateway/stripe-emulator');
  const emu = await startEmulator({ port: 0 });
  process.once('SIGTERM', () => void emu.close().then(() => process.exit(0)));
  process.stdout.write(`${emu.port}\n`);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measure({
    databaseUrl: (values['database-url'] as string | undefined) ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    rows: Number(values.rows),
    rate: Number(values.rate),
    batch: Number(values.batch),
    concurrency: Number(values.concurrency),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  for (const r of rows) process.stdout.write(`${r.metric}: ${r.value} ${r.unit}\n`);
}
