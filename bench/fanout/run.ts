/**
 * Fan-out: --subscribers graphql-ws clients (admin token, `billingEvents(types: [CUSTOMER_CREATED])`)
 * on one gateway process (`dist/src/main.js`, temporary PostgreSQL database, Stripe = an emulator this
 * bench starts); signed customer.created deliveries at --rate for --seconds; for every (event,
 * subscriber) pair the time from the webhook's 2xx to that subscriber receiving the event, p50/p99
 * (target p99 ≤ 100 ms).
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/fanout/run.ts \
 *     [--subscribers 1000] [--rate 10] [--seconds 10] [--viewers 1] [--database-url postgres://…] [--cpu-prof DIR]
 *
 * --viewers N spreads the subscribers over N admin tokens (different `sub`s): the gateway executes the
 * subscription once per viewer and event (src/http/fanout), so N = 1 is the best case and N = subscribers
 * the worst (one execution per subscriber, as graphql-ws alone does).
 *
 * Also the `fanout` part of `npm run bench` (exports `part`; the same options as `--key value`).
 *
 * The subscribers live in this process (one WebSocket each); the clients' own cost (JSON parsing of
 * every message) is on this side, not the gateway's.
 */
import { parseArgs } from 'node:util';
import type { Client } from 'graphql-ws';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';

// Node runs this file's TypeScript directly and needs the `.ts` name; the type comes from the same file.
const { adminToken, cpuMeter, customerCreatedEvents, deliver, ensureBuilt, loadAverage, ms, pct, printRows, runBench, startEmulators, startGateway, subscribeCustomerCreated, tempDatabase, warmUp } = (await import(
  new URL('../webhooks/harness.ts', import.meta.url).href
)) as typeof import('../webhooks/harness.js');

interface FanoutOptions {
  subscribers: number;
  viewers: number;
  rate: number;
  seconds: number;
  cpuProf?: string;
}

function optionsFrom(o: Record<string, string | undefined>): FanoutOptions {
  const num = (k: string, d: number) => (o[k] === undefined ? d : Number(o[k]));
  return { subscribers: num('subscribers', 1000), viewers: Math.max(1, num('viewers', 1)), rate: num('rate', 10), seconds: num('seconds', 10), cpuProf: o['cpu-prof'] };
}

async function measure(serverUrl: string, o: FanoutOptions, log: (line: string) => void): Promise<BenchRow[]> {
  ensureBuilt();
  const { subscribers: SUBSCRIBERS, rate: RATE, seconds: SECONDS } = o;
  const db = await tempDatabase(serverUrl);
  const emus = await startEmulators();
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  const clients: Client[] = [];
  try {
    const total = Math.round(RATE * SECONDS);
    const payloads = await customerCreatedEvents(emus.source, total, 'fan');
    const warmups = await customerCreatedEvents(emus.source, 5, 'warmup');
    gateway = await startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase, cpuProfDir: o.cpuProf });
    const tokens = await Promise.all(Array.from({ length: o.viewers }, (_, v) => adminToken(`bench${v}`)));

    // received.get(customer)[subscriber] = performance.now() at arrival
    const received = new Map<string, number[]>();
    const counts = new Map<string, number>();
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const me = i;
      clients.push(
        subscribeCustomerCreated(gateway.port, tokens[i % tokens.length]!, (customer) => {
          let arr = received.get(customer);
          if (!arr) received.set(customer, (arr = new Array<number>(SUBSCRIBERS).fill(NaN)));
          if (Number.isNaN(arr[me]!)) {
            arr[me] = performance.now();
            counts.set(customer, (counts.get(customer) ?? 0) + 1);
          }
        }),
      );
      // Connect in small steps rather than 1,000 handshakes at once.
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
    }
    // Every subscriber has a live subscription once it has received a warm-up event.
    await warmUp(gateway.url, emus.source, warmups, (c) => (counts.get(c) ?? 0) === SUBSCRIBERS);

    const acked = new Map<string, number>();
    let failures = 0;
    const cpu = await cpuMeter(gateway.child.pid!);
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < payloads.length; i++) {
      const wait = started + (i * 1000) / RATE - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const { customer, body } = payloads[i]!;
      inflight.push(
        deliver(gateway.url, emus.source, body).then(({ status, t1 }) => {
          if (status !== 200) failures++;
          acked.set(customer, t1);
        }),
      );
    }
    await Promise.all(inflight);
    const until = performance.now() + 30_000;
    while (performance.now() < until && payloads.some((p) => (counts.get(p.customer) ?? 0) < SUBSCRIBERS)) await new Promise((r) => setTimeout(r, 50));

    const cpuLine = await cpu.stop();
    const latency: number[] = [];
    let missing = 0;
    for (const p of payloads) {
      const a = acked.get(p.customer)!;
      const arr = received.get(p.customer) ?? [];
      for (let s = 0; s < SUBSCRIBERS; s++) {
        const t = arr[s];
        if (t === undefined || Number.isNaN(t)) missing++;
        else latency.push(Math.max(0, t - a));
      }
    }
    latency.sort((x, y) => x - y);
    const p99 = pct(latency, 99);
    const lines = [
      `load average: ${await loadAverage()}`,
      `fanout: ${SUBSCRIBERS} graphql-ws subscribers (${o.viewers} viewer${o.viewers === 1 ? '' : 's'}), ${payloads.length} events at ${RATE}/s (${failures} non-2xx)`,
      `  deliveries: ${latency.length} received, ${missing} missing`,
      `  ${cpuLine}`,
      `  2xx → subscriber: p50 ${ms(pct(latency, 50))}  p99 ${ms(p99)}  max ${ms(latency[latency.length - 1] ?? NaN)}  (target p99 ≤ 100 ms: ${p99 <= 100 ? 'met' : 'MISSED'})`,
    ];
    for (const line of lines) log(line);
    return [
      { metric: `2xx → event received p50 (${SUBSCRIBERS} subscribers, ${o.viewers} viewers, ${RATE} events/s)`, value: pct(latency, 50), unit: 'ms' },
      { metric: `2xx → event received p99 (${SUBSCRIBERS} subscribers, ${o.viewers} viewers, ${RATE} events/s)`, value: p99, unit: 'ms', target: 'p99 ≤ 100 ms', met: p99 <= 100 && missing === 0 },
      { metric: `deliveries missing (of ${payloads.length * SUBSCRIBERS})`, value: missing, unit: '', target: '0', met: missing === 0 },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await gateway?.stop();
    await emus.close();
    await db.drop();
  }
}

export const part: BenchPart = {
  name: 'fanout',
  description: '1,000 graphql-ws subscribers of one billingEvents subscription: webhook 2xx → event received, p50/p99',
  run: (ctx: BenchContext) => measure(ctx.databaseUrl, optionsFrom(ctx.options), ctx.log),
};

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string' },
      viewers: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'database-url': { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const serverUrl = values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    process.stderr.write('--database-url (or BENCH_DATABASE_URL / TEST_DATABASE_URL) is required\n');
    process.exit(2);
  }
  runBench(async () => {
    const rows = await measure(serverUrl, optionsFrom(values), (line) => process.stdout.write(`${line}\n`));
    printRows(rows);
  });
}
