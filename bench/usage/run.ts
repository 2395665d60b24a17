/**
 * The usage ledger under load: the gateway in its own process (`dist/src/main.js`, `npm run
 * build` first) on a fresh PostgreSQL database, Stripe = an emulator this bench starts, one subscribed
 * customer, this process as the load generator.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/usage/run.ts \
 *     [--seconds 10] [--connections 64] [--samples 300] [--database-url postgres://…] [--cpu-prof DIR] [--only single|batch] [--flush-rows 10000]
 *
 * Rows:
 *  1. single `reportUsage` calls/s (autocannon, every call a new idempotency key), exactly-once checked:
 *     afterwards the ledger holds exactly one row per acknowledged call;
 *  2. the baseline: one-row `INSERT … ON CONFLICT DO NOTHING` through `pg` (10 clients, as the gateway's
 *     pool) on a table of the same shape in the same database; row 1 is compared with it (≥ 40 %);
 *  3. records/s through `reportUsageBatch` (1,000 records a call, 4 callers), exactly-once checked;
 *  4. p99 from a `reportUsage` call to its units showing in `Customer.usage` (a reader polls);
 *  5. time to flush to the emulator: a burst of `--flush-rows` (10,000) ledger rows drained by the
 *     meter-event flusher with exactly-once checked at the emulator (bench/meter-events, run after the gateway stops).
 */
import autocannon from 'autocannon';
import pg from 'pg';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
import { numberOption, runIfMain } from '../lib/report.ts';

const harness = (await import(new URL('../webhooks/harness.ts', import.meta.url).href)) as typeof import('../webhooks/harness.js');
const { JWT_SECRET, load, pct, startEmulators, startGateway, tempDatabase, cpuMeter, loadAverage, processCpuSeconds } = harness;

const SUB = 'bench-usage-customer';
const BATCH = 1_000;

const REPORT = `mutation ($input: ReportUsageInput!) { reportUsage(input: $input) { id duplicate } }`;
const REPORT_BATCH = `mutation ($input: [ReportUsageInput!]!) { reportUsageBatch(input: $input) { id duplicate } }`;
const USAGE = `{ customer { usage(meter: "api_calls") { quantity } } }`;

async function gql(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

async function ledgerRows(db: pg.Client, customerId: string): Promise<number> {
  return Number((await db.query(`select count(*) as n from usage_records where customer_id = $1`, [customerId])).rows[0].n);
}

/** autocannon's options for POSTs to the gateway's /graphql with `token`, on `connections` keep-alive connections. */
const graphqlLoad = (url: string, token: string, seconds: number, connections: number) => ({
  url: `${url}/graphql`,
  method: 'POST' as const,
  connections,
  duration: seconds,
  headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
});

/** Single reportUsage calls for `seconds` over `connections` keep-alive connections, each call a new key. */
async function singleCalls(url: string, token: string, seconds: number, connections: number, tag: string): Promise<{ perSecond: number; acked: Set<string>; failed: number; p99: number }> {
  let n = 0;
  const acked = new Set<string>();
  let failed = 0;
  const result = await autocannon({
    ...graphqlLoad(url, token, seconds, connections),
    requests: [
      {
        // One request in flight per connection: the connection's context remembers its key.
        setupRequest: (req, context) => {
          const key = `${tag}-${n++}`;
          context.key = key;
          req.body = `{"query":${JSON.stringify(REPORT)},"variables":{"input":{"meter":"api_calls","quantity":1,"idempotencyKey":"${key}"}}}`;
          return req;
        },
        onResponse: (status, body, context) => {
          if (status === 200 && body.includes('"duplicate":false')) acked.add(context.key as string);
          else failed++;
        },
      },
    ],
  });
  return { perSecond: acked.size / seconds, acked, failed, p99: result.latency.p99 };
}

/**
 * Exactly once: every acknowledged key is in the ledger once (the unique index forbids twice), and the
 * only extra rows are the calls still in flight when the load stopped (at most one per connection; the
 * load generator drops their answers). Then a sample of acknowledged keys is sent again: each must come
 * back `duplicate: true` and add nothing.
 */
async function checkExactlyOnce(db: pg.Client, customerId: string, url: string, token: string, tag: string, acked: Set<string>, inFlight: number): Promise<string | null> {
  await new Promise((r) => setTimeout(r, 1000));
  const { rows } = await db.query<{ idempotency_key: string }>(`select idempotency_key from usage_records where customer_id = $1 and idempotency_key like $2`, [customerId, `${tag}-%`]);
  const stored = new Set(rows.map((r) => r.idempotency_key));
  if (stored.size !== rows.length) return `${rows.length - stored.size} keys stored twice`;
  const missing = [...acked].filter((k) => !stored.has(k));
  if (missing.length > 0) return `${missing.length} acknowledged keys missing from the ledger`;
  if (stored.size - acked.size > inFlight) return `${stored.size - acked.size} rows without an acknowledged call (more than ${inFlight} in flight)`;
  const replay = [...acked].slice(0, 200);
  for (const key of replay) {
    const data = await gql(url, token, REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: key } });
    if (!data.reportUsage.duplicate) return `replayed key ${key} was not a duplicate`;
  }
  const after = await db.query(`select count(*) as n from usage_records where customer_id = $1 and idempotency_key like $2`, [customerId, `${tag}-%`]);
  if (Number(after.rows[0].n) !== rows.length) return 'replayed keys added rows';
  return null;
}

/** `{ __typename }` over the same connections and token: requests/s and gateway CPU per request. */
async function gatewayFloor(url: string, token: string, seconds: number, connections: number, pid: number): Promise<string> {
  const cpu0 = await processCpuSeconds(pid);
  const result = await autocannon({
    ...graphqlLoad(url, token, seconds, connections),
    body: '{"query":"{ __typename }"}',
  });
  const cpu = (await processCpuSeconds(pid)) - cpu0;
  const n = result.requests.total as number;
  return `${Math.round(n / seconds)} requests/s, gateway CPU ${((cpu * 1000) / Math.max(1, n)).toFixed(3)} ms per request`;
}

/** reportUsageBatch calls of 1,000 records from `callers` closed loops for `seconds`. */
async function batchedRecords(url: string, token: string, seconds: number, callers: number): Promise<{ perSecond: number; acked: number }> {
  let next = 0;
  let acked = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const base = next;
        next += BATCH;
        const input = Array.from({ length: BATCH }, (_, i) => ({ meter: 'api_calls', quantity: 1, idempotencyKey: `batch-${base + i}` }));
        const data = await gql(url, token, REPORT_BATCH, { input });
        acked += (data.reportUsageBatch as { duplicate: boolean }[]).filter((r) => !r.duplicate).length;
      }
    }),
  );
  return { perSecond: acked / ((performance.now() - t0) / 1000), acked };
}

/** The baseline: one-row INSERT … ON CONFLICT DO NOTHING through pg, `clients` closed loops. */
async function baselineInserts(databaseUrl: string, seconds: number, clients: number): Promise<number> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create table if not exists usage_records_baseline (like usage_records including all)`);
  await admin.end();
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      let i = 0;
      while (performance.now() < until) {
        await client.query(
          `insert into usage_records_baseline (id, customer_id, meter, quantity, "timestamp", idempotency_key) values ($1, $2, $3, $4, $5, $6)
           on conflict (customer_id, idempotency_key) do nothing`,
          [`b-${c}-${i}`, 'cus_baseline', 'api_calls', 1, new Date(), `k-${c}-${i}`],
        );
        i++;
        done++;
      }
      await client.end();
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** Report → visible in Customer.usage: `samples` sequential reports, each followed by reads until the units show. */
async function reportToVisible(url: string, token: string, samples: number): Promise<number[]> {
  const times: number[] = [];
  let expected = (await gql(url, token, USAGE)).customer.usage[0].quantity as number;
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await gql(url, token, REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: `visible-${i}` } });
    expected += 1;
    for (;;) {
      const q = (await gql(url, token, USAGE)).customer.usage[0].quantity as number;
      if (q >= expected) break;
    }
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

/** Rows 1–4: the ledger behind the GraphQL API. */
const ledger: BenchPart = {
  name: 'usage',
  description: 'Usage ledger: reportUsage calls/s (exactly once), batched records/s, baseline INSERT rate, report-to-visible p99',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const seconds = numberOption(ctx, 'seconds', 10);
    const connections = numberOption(ctx, 'connections', 64);
    const db = await tempDatabase(ctx.databaseUrl);
    const emus = await startEmulators();
    let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
    const client = new pg.Client({ connectionString: db.url });
    try {
      gateway = await startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase, ...(ctx.options['cpu-prof'] ? { cpuProfDir: ctx.options['cpu-prof'] } : {}) });
      await client.connect();
      const { signDevToken } = await load<typeof import('../../src/auth/tokens.js')>('auth/tokens');
      const admin = await signDevToken({ sub: 'bench-admin', role: 'admin' }, JWT_SECRET);
      const token = await signDevToken({ sub: SUB }, JWT_SECRET);
      const sub = await gql(gateway.url, admin, `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id customer { id } } } }`, {
        input: { plan: 'pro_monthly', customerId: SUB, paymentMethod: 'pm_card_visa', idempotencyKey: 'bench-sub' },
      });
      const customerId = sub.subscribe.subscription.customer.id as string;
      ctx.log(`gateway ${gateway.url}, customer ${customerId}, load average ${await loadAverage()}`);

      // Warm-up (JIT, pool, plan caches), not measured.
      await singleCalls(gateway.url, token, 2, connections, 'warm');

      if (ctx.options.only === 'batch') {
        // Profiling aid (--only batch): the batch phase alone.
        const cpuB = await cpuMeter(gateway.child.pid!);
        const b = await batchedRecords(gateway.url, token, seconds, 4);
        ctx.log(`batch: ${b.acked} records; ${await cpuB.stop()}`);
        return [{ metric: 'reportUsageBatch records (1,000 per call, 4 callers)', value: Math.round(b.perSecond), unit: 'records/s' }];
      }
      // The floor under any call: the same HTTP + auth + Apollo path with a query that touches nothing.
      const floor = await gatewayFloor(gateway.url, token, Math.min(5, seconds), connections, gateway.child.pid!);
      ctx.log(`floor ({ __typename }): ${floor}`);

      const cpuBefore = await processCpuSeconds(gateway.child.pid!);
      const cpu = await cpuMeter(gateway.child.pid!);
      const single = await singleCalls(gateway.url, token, seconds, connections, 'single');
      ctx.log(`single: ${single.acked.size} acknowledged, ${single.failed} failed, latency p99 ${single.p99} ms; ${await cpu.stop()}`);
      ctx.log(`gateway CPU per reportUsage call: ${(((await processCpuSeconds(gateway.child.pid!)) - cpuBefore) * 1000 / Math.max(1, single.acked.size)).toFixed(3)} ms`);
      const singleProblem = await checkExactlyOnce(client, customerId, gateway.url, token, 'single', single.acked, connections);
      const singleExact = singleProblem === null;
      if (singleProblem) ctx.log(`EXACTLY-ONCE VIOLATED (single): ${singleProblem}`);
      const afterSingle = await ledgerRows(client, customerId);

      if (ctx.options.only === 'single') {
        // Profiling aid (--only single): the single-call phase alone, e.g. under --cpu-prof.
        return [{ metric: `reportUsage single calls (${connections} connections, exactly once ${singleExact ? 'ok' : 'VIOLATED'})`, value: Math.round(single.perSecond), unit: 'calls/s' }];
      }
      const baseline = await baselineInserts(db.url, seconds, 10);

      const batched = await batchedRecords(gateway.url, token, seconds, 4);
      const afterBatch = await ledgerRows(client, customerId);
      // The batch callers wait for every answer, so here the count is exact.
      const batchExact = afterBatch - afterSingle === batched.acked;
      if (!batchExact) ctx.log(`EXACTLY-ONCE VIOLATED (batch): ${afterBatch - afterSingle} rows for ${batched.acked} acknowledged records`);

      const visible = await reportToVisible(gateway.url, token, numberOption(ctx, 'samples', 300));
      const p99 = pct(visible, 99);

      const rows: BenchRow[] = [
        {
          metric: `reportUsage single calls (${connections} connections, exactly once ${singleExact ? 'ok' : 'VIOLATED'})`,
          value: Math.round(single.perSecond),
          unit: 'calls/s',
          baseline: { name: 'pg INSERT … ON CONFLICT DO NOTHING, 10 clients', value: Math.round(baseline), unit: 'rows/s' },
          target: '≥ 5,000/s and ≥ 40% of baseline',
          met: singleExact && single.perSecond >= 5_000 && single.perSecond >= 0.4 * baseline,
        },
        {
          metric: `reportUsageBatch records (1,000 per call, 4 callers, exactly once ${batchExact ? 'ok' : 'VIOLATED'})`,
          value: Math.round(batched.perSecond),
          unit: 'records/s',
          target: '≥ 20,000/s',
          met: batchExact && batched.perSecond >= 20_000,
        },
        { metric: 'report → visible in Customer.usage, p99', value: Math.round(p99 * 10) / 10, unit: 'ms', target: 'p99 ≤ 1 s', met: p99 <= 1000 },
      ];
      ctx.log(`baseline ${Math.round(baseline)} rows/s; single = ${((single.perSecond / baseline) * 100).toFixed(0)}% of it; report→visible p50 ${pct(visible, 50).toFixed(1)} ms`);
      return rows;
    } finally {
      await client.end().catch(() => undefined);
      await gateway?.stop();
      await emus.close();
      await db.drop();
    }
  },
};

// Run alone: print the rows.
/** Row 5, after the gateway above has stopped: a burst of ledger rows drained to the emulator by the flusher (bench/meter-events). */
export const part: BenchPart = {
  ...ledger,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const rows = await ledger.run(ctx);
    const { part: meterEvents } = (await import(new URL('../meter-events/run.ts', import.meta.url).href)) as typeof import('../meter-events/run.js');
    const flushed = await meterEvents.run({ ...ctx, options: { rows: ctx.options['flush-rows'] ?? '10000' } });
    return [...rows, ...flushed.map((r) => ({ ...r, metric: `flush to the emulator: ${r.metric}` }))];
  },
};

runIfMain(import.meta.url, part);
