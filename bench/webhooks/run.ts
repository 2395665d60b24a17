/**
 * Webhook ingestion to live signal, with the gateway in its own process (`dist/src/main.js` on a
 * temporary PostgreSQL database, Stripe = an emulator this bench starts) and this process as the load
 * generator (signing with the stripe SDK, subscribing with graphql-ws).
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/webhooks/run.ts \
 *     [--rate 200] [--seconds 10] [--database-url postgres://…] [--concurrency 32] [--cpu-prof DIR] [--skip-pgbench]
 *     [--warmup-seconds 3] [--pgbench-clients 4]
 *
 * Also the `webhooks` part of `npm run bench` (exports `part`; the same options as `--key value`).
 *
 * Three phases, printed together:
 *  1. baseline: `pgbench -n -f <one-row insert> -T <seconds> -c <pgbench-clients>` on the same database (bench schema);
 *  2. rate (after --warmup-seconds of unmeasured load at the same rate): signed customer.created deliveries sent open-loop at --rate for --seconds, one admin
 *     graphql-ws subscriber of billingEvents: acks/s, ack p50/p99 (request → 2xx), delivery p50/p99
 *     (2xx → the BillingEvent at the subscriber);
 *  3. sustained: --concurrency senders in a closed loop for --seconds (as fast as the gateway acks):
 *     acknowledged/s against the pgbench rate, and the time until the worker has processed them all.
 */
import { execFile } from 'node:child_process';
import { existsSync, globSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import pg from 'pg';
import Stripe from 'stripe';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
// Node runs this file's TypeScript directly and needs the `.ts` name; the type comes from the same file.
const {
  adminSql,
  adminToken,
  cpuMeter,
  customerCreatedEvents,
  deliver,
  ensureBuilt,
  loadAverage,
  ms,
  pct,
  printRows,
  runBench,
  SECRET,
  startEmulators,
  startGateway,
  subscribeCustomerCreated,
  tempDatabase,
  warmUp,
} = (await import(new URL('./harness.ts', import.meta.url).href)) as typeof import('./harness.js');

interface WebhooksOptions {
  rate: number;
  seconds: number;
  concurrency: number;
  cpuProf?: string;
  skipPgbench: boolean;
  warmupSeconds: number;
  pgbenchClients: number;
}

function optionsFrom(o: Record<string, string | boolean | undefined>): WebhooksOptions {
  const num = (k: string, d: number) => (o[k] === undefined ? d : Number(o[k]));
  return {
    rate: num('rate', 200),
    seconds: num('seconds', 10),
    concurrency: num('concurrency', 32),
    cpuProf: typeof o['cpu-prof'] === 'string' ? o['cpu-prof'] : undefined,
    skipPgbench: o['skip-pgbench'] !== undefined && o['skip-pgbench'] !== false && o['skip-pgbench'] !== 'false',
    warmupSeconds: num('warmup-seconds', 3),
    pgbenchClients: num('pgbench-clients', 4),
  };
}

/** pgbench from PATH, else PostgreSQL's own bin directory (Debian puts it under /usr/lib/postgresql/<v>/bin). */
function pgbenchBinary(): string {
  const onPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'pgbench')).find((p) => existsSync(p));
  return onPath ?? globSync('/usr/lib/postgresql/*/bin/pgbench').sort().at(-1) ?? 'pgbench';
}

/** pgbench with a one-row insert per transaction on `url` (table in schema `bench`); transactions per second. */
async function pgbenchRate(url: string, seconds: number, clients: number): Promise<number> {
  await adminSql(url, `create schema if not exists bench; create table if not exists bench.pgbench_insert (id bigserial primary key, payload text not null, created_at timestamptz not null default now())`);
  const dir = mkdtempSync(join(tmpdir(), 'pgbench-'));
  const script = join(dir, 'insert.sql');
  writeFileSync(script, `insert into bench.pgbench_insert (payload) values ('evt_bench');\n`);
  const { stdout } = await promisify(execFile)(pgbenchBinary(), ['-n', '-f', script, '-T', String(seconds), '-c', String(clients), url]);
  const m = /tps = ([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(m[1]);
}

/** Unique customer.created bodies from one real event (ids varied), signed now. */
function syntheticBodies(template: string, count: number, signer: Stripe): { body: string; signature: string }[] {
  const ev = JSON.parse(template) as Stripe.Event;
  const cus = (ev.data.object as Stripe.Customer).id;
  const out: { body: string; signature: string }[] = [];
  for (let i = 0; i < count; i++) {
    const body = template.replaceAll(ev.id, `${ev.id}_s${i}`).replaceAll(cus, `${cus}_s${i}`);
    out.push({ body, signature: signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) });
  }
  return out;
}

async function waitProcessed(db: pg.Client, deadlineMs: number): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < deadlineMs) {
    const r = await db.query(`select count(*)::int as n from webhook_events where status in ('pending', 'processing')`);
    if (r.rows[0].n === 0) return performance.now();
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

async function measure(serverUrl: string, o: WebhooksOptions, log: (line: string) => void): Promise<BenchRow[]> {
  ensureBuilt();
  const { rate: RATE, seconds: SECONDS, concurrency: CONCURRENCY } = o;
  const db = await tempDatabase(serverUrl);
  const emus = await startEmulators();
  const lines: string[] = [];
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    const baseline = o.skipPgbench ? NaN : await pgbenchRate(db.url, SECONDS, o.pgbenchClients);
    lines.push(`load average at start: ${await loadAverage()}`);
    lines.push(`baseline: pgbench one-row insert, ${o.pgbenchClients} clients, ${SECONDS} s: ${baseline.toFixed(0)} tps`);

    const total = Math.round(RATE * SECONDS);
    log(`preparing ${total} customer.created events…`);
    const payloads = await customerCreatedEvents(emus.source, total, 'bench');
    const warmups = await customerCreatedEvents(emus.source, 3, 'warmup');

    gateway = await startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase, cpuProfDir: o.cpuProf });
    const signer = emus.source;

    // Phase 2: open loop at RATE.
    const delivered = new Map<string, number>();
    let allDone: () => void = () => {};
    const allDelivered = new Promise<void>((r) => (allDone = r));
    const wanted = new Set(payloads.map((p) => p.customer));
    const client = subscribeCustomerCreated(gateway.port, await adminToken(), (customer) => {
      if (!delivered.has(customer)) delivered.set(customer, performance.now());
      if (wanted.has(customer)) {
        wanted.delete(customer);
        if (wanted.size === 0) allDone();
      }
    });
    await warmUp(gateway.url, signer, warmups, (c) => delivered.has(c));
    // Warm-up load (not measured): a just-started process compiles lazily loaded modules and JITs the hot path.
    const warmBodies = syntheticBodies(warmups[0]!.body, Math.round(RATE * o.warmupSeconds), signer);
    const warmStart = performance.now();
    await Promise.all(
      warmBodies.map(async (b, i) => {
        await new Promise((r) => setTimeout(r, warmStart + (i * 1000) / RATE - performance.now()));
        const res = await fetch(`${gateway!.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': b.signature }, body: b.body });
        await res.arrayBuffer();
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));

    const acked = new Map<string, number>();
    const ackLatency: number[] = [];
    let failures = 0;
    const rateCpu = await cpuMeter(gateway.child.pid!);
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < payloads.length; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const { customer, body } = payloads[i]!;
      inflight.push(
        deliver(gateway.url, signer, body).then(({ status, t0, t1 }) => {
          if (status !== 200) failures++;
          ackLatency.push(t1 - t0);
          acked.set(customer, t1);
        }),
      );
    }
    await Promise.all(inflight);
    const sendSeconds = (performance.now() - started) / 1000;
    await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 60_000))]);
    const rateCpuLine = await rateCpu.stop();
    const lastDelivery = Math.max(...[...delivered.values()]);
    const deliveryLatency: number[] = [];
    for (const p of payloads) {
      const t = delivered.get(p.customer);
      const a = acked.get(p.customer);
      // The event can reach the subscriber before the 2xx reaches the sender: count that as 0.
      if (t !== undefined && a !== undefined) deliveryLatency.push(Math.max(0, t - a));
    }
    await client.dispose();
    ackLatency.sort((a, b) => a - b);
    deliveryLatency.sort((a, b) => a - b);
    const ackP99 = pct(ackLatency, 99);
    const delP99 = pct(deliveryLatency, 99);
    lines.push(
      `rate phase: ${payloads.length} events offered at ${RATE}/s over ${SECONDS} s`,
      `  acknowledged: ${payloads.length - failures} (${failures} non-2xx), ${((payloads.length - failures) / sendSeconds).toFixed(1)} events/s`,
      `  ack latency (request → 2xx):         p50 ${ms(pct(ackLatency, 50))}  p99 ${ms(ackP99)}  (target p99 ≤ 50 ms: ${ackP99 <= 50 ? 'met' : 'MISSED'})`,
      `  delivery latency (2xx → subscriber): p50 ${ms(pct(deliveryLatency, 50))}  p99 ${ms(delP99)}  (target p99 ≤ 100 ms: ${delP99 <= 100 ? 'met' : 'MISSED'})`,
      `  delivered to the subscriber: ${deliveryLatency.length}/${payloads.length}; fully processed ${((lastDelivery - started) / 1000).toFixed(2)} s after the first send`,
      `  ${rateCpuLine}`,
    );

    // Where the delivery time goes, per event, from the database's own clocks (same machine as this
    // process: performance.timeOrigin + performance.now() is wall time): 2xx → worker transaction start
    // (processed_at is now() of the batch) → the BillingEvent row (created_at = clock_timestamp() at its
    // insert, near the end of the batch) → the subscriber (commit, publish, fan-out, client).
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    const stamps = await check.query<{ id: string; received: number; processed: number; stored: number | null }>(
      `select w.id, extract(epoch from w.received_at) * 1000 as received, extract(epoch from w.processed_at) * 1000 as processed,
              (select extract(epoch from min(b.created_at)) * 1000 from billing_events b where b.source_event_id = w.id) as stored
         from webhook_events w where w.id = any($1::text[])`,
      [payloads.map((p) => (JSON.parse(p.body) as { id: string }).id)],
    );
    const wall = (t: number) => performance.timeOrigin + t;
    const byEvent = new Map(stamps.rows.map((r) => [r.id, r]));
    const legs = { toWorker: [] as number[], inBatch: [] as number[], toSubscriber: [] as number[], insertToWorker: [] as number[] };
    for (const p of payloads) {
      const r = byEvent.get((JSON.parse(p.body) as { id: string }).id);
      const a = acked.get(p.customer);
      const d = delivered.get(p.customer);
      if (!r || a === undefined || d === undefined || r.stored === null) continue;
      legs.insertToWorker.push(Number(r.processed) - Number(r.received));
      legs.toWorker.push(Math.max(0, Number(r.processed) - wall(a)));
      legs.inBatch.push(Number(r.stored) - Number(r.processed));
      legs.toSubscriber.push(Number(r.stored) <= wall(d) ? wall(d) - Number(r.stored) : 0);
    }
    for (const l of Object.values(legs)) l.sort((x, y) => x - y);
    const leg = (name: string, l: number[]) => `  ${name}: p50 ${ms(pct(l, 50))}  p99 ${ms(pct(l, 99))}`;
    lines.push(
      leg('inbox insert → worker transaction start (processed_at − received_at, both now())', legs.insertToWorker),
      leg('2xx → worker transaction start', legs.toWorker),
      leg('worker transaction start → BillingEvent row inserted (clock_timestamp())', legs.inBatch),
      leg('BillingEvent row inserted → subscriber (commit, publish, fan-out, client)', legs.toSubscriber),
    );

    // Phase 3: closed loop, as fast as acks come.
    // Enough for 12,000 acks/s: at 4,000 per second the group-committed route ran out before the end.
    const bodies = syntheticBodies(payloads[0]!.body, Math.max(20_000, Math.round(SECONDS * 12_000)), signer);
    let next = 0;
    let ok = 0;
    let bad = 0;
    const sustainedAck: number[] = [];
    const sustainedCpu = await cpuMeter(gateway.child.pid!);
    const t0 = performance.now();
    const stopAt = t0 + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < stopAt && next < bodies.length) {
          const b = bodies[next++]!;
          const s = performance.now();
          const res = await fetch(`${gateway!.url}/webhooks/stripe`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'stripe-signature': b.signature },
            body: b.body,
          });
          await res.arrayBuffer();
          sustainedAck.push(performance.now() - s);
          if (res.status === 200) ok++;
          else bad++;
        }
      }),
    );
    const sendEnd = performance.now();
    if (next >= bodies.length) log(`  (all ${bodies.length} prepared bodies sent before ${SECONDS} s: the rate below is a lower bound)`);
    const processedAt = await waitProcessed(check, 120_000);
    const sustainedCpuLine = await sustainedCpu.stop();
    await check.end();
    sustainedAck.sort((a, b) => a - b);
    const ingest = ok / ((sendEnd - t0) / 1000);
    lines.push(
      `sustained phase: ${CONCURRENCY} senders in a closed loop for ${SECONDS} s`,
      `  acknowledged: ${ok} (${bad} non-2xx), ${ingest.toFixed(1)} events/s = ${((ingest / baseline) * 100).toFixed(0)}% of pgbench (target ≥ 50%: ${ingest >= baseline / 2 ? 'met' : 'MISSED'}); ack p50 ${ms(pct(sustainedAck, 50))} p99 ${ms(pct(sustainedAck, 99))}`,
      processedAt === null
        ? '  not fully processed within 120 s after the last ack'
        : `  fully processed ${((processedAt - t0) / 1000).toFixed(2)} s after the first send (${((processedAt - sendEnd) / 1000).toFixed(2)} s after the last ack): worker ${(ok / ((processedAt - t0) / 1000)).toFixed(1)} events/s`,
      `  ${sustainedCpuLine}`,
      `load average at end: ${await loadAverage()}`,
      '',
    );
    for (const line of lines) if (line) log(line);
    const sent = payloads.length - failures;
    const fully = processedAt === null ? NaN : (processedAt - t0) / 1000;
    const pgbench = Number.isNaN(baseline) ? {} : { baseline: { name: `pgbench one-row insert, ${o.pgbenchClients} clients`, value: baseline, unit: 'tps' }, met: ingest >= baseline / 2 };
    return [
      { metric: `acknowledged at ${RATE}/s offered`, value: sent / sendSeconds, unit: 'events/s' },
      { metric: `ack p50 at ${RATE}/s`, value: pct(ackLatency, 50), unit: 'ms' },
      { metric: `ack p99 at ${RATE}/s`, value: ackP99, unit: 'ms', target: 'p99 ≤ 50 ms', met: ackP99 <= 50 },
      { metric: `2xx → subscriber p50 at ${RATE}/s`, value: pct(deliveryLatency, 50), unit: 'ms' },
      { metric: `2xx → subscriber p99 at ${RATE}/s`, value: delP99, unit: 'ms', target: 'p99 ≤ 100 ms', met: delP99 <= 100 },
      { metric: `sustained ingest (${CONCURRENCY} senders, closed loop)`, value: ingest, unit: 'events/s', target: '≥ 50% of pgbench', ...pgbench },
      { metric: `time to fully processed (${ok} events, from first send)`, value: fully, unit: 's' },
    ];
  } finally {
    await gateway?.stop();
    await emus.close();
    await db.drop();
  }
}

export const part: BenchPart = {
  name: 'webhooks',
  description: 'signed deliveries acknowledged/s, ack p99 at 200/s, 2xx → subscriber, time to fully processed; baseline pgbench one-row inserts',
  run: (ctx: BenchContext) => measure(ctx.databaseUrl, optionsFrom(ctx.options), ctx.log),
};

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      'database-url': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'skip-pgbench': { type: 'boolean', default: false },
      'warmup-seconds': { type: 'string' },
      'pgbench-clients': { type: 'string' },
    },
  });
  const serverUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    process.stderr.write('--database-url (or BENCH_DATABASE_URL / TEST_DATABASE_URL) is required: the targets are for PostgreSQL\n');
    process.exit(2);
  }
  runBench(async () => {
    const rows = await measure(serverUrl, optionsFrom(values), (line) => process.stdout.write(`${line}\n`));
    printRows(rows);
  });
}

