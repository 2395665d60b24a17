/**
 * Webhook ingestion to live signal: signed `customer.created` deliveries sent open-loop at a fixed
 * rate to the gateway's `POST /webhooks/stripe`, processed by the worker (mirror + billing signals),
 * and received by an admin graphql-ws subscriber of `billingEvents`.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/webhooks/run.ts [--rate 200] [--seconds 5] [--database-url postgres://…]
 *
 * Prints acknowledged events per second, the ack latency (request → 2xx) and the delivery latency
 * (2xx → the BillingEvent reaching the subscriber), p50/p99, against the targets (ack p99 ≤ 50 ms,
 * delivery p99 ≤ 100 ms at 200 events/s). PostgreSQL (a temporary database on `--database-url`, or
 * TEST_DATABASE_URL) is what the targets are for; without one it runs on in-memory PGlite.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import Stripe from 'stripe';
import WebSocket from 'ws';

/**
 * The gateway's modules from the compiled tree (`npm run build` first): its GraphQL types use
 * decorators, which Node's TypeScript stripping does not run. Types come from the sources.
 */
async function load<T>(path: string): Promise<T> {
  return (await import(new URL(`../../dist/src/${path}.js`, import.meta.url).href)) as T;
}

process.setSourceMapsEnabled(false);
process.env.LOG_LEVEL ??= 'silent';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    'database-url': { type: 'string' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const SECRET = 'whsec_bench_0123456789abcdef';
const JWT_SECRET = 'bench-webhooks-secret-0123456789abcdefghij';

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function admin(server: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: server });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const [{ openOrm, openOrmWith, closeOrm }, { createOrmConfig }, { loadCatalog }, { loadConfig }, { startEmulator }, { syncCatalog }, { mirrorCatalog }, events, { createGatewayServer }, { createWebhookService }, { signDevToken }] =
    await Promise.all([
      load<typeof import('../../src/db/orm.js')>('db/orm'),
      load<typeof import('../../src/db/config.js')>('db/config'),
      load<typeof import('../../src/billing/catalog.js')>('billing/catalog'),
      load<typeof import('../../src/config.js')>('config'),
      load<typeof import('../../src/emulator/index.js')>('emulator/index'),
      load<typeof import('../../src/stripe/catalog-sync.js')>('stripe/catalog-sync'),
      load<typeof import('../../src/stripe/mirror-catalog.js')>('stripe/mirror-catalog'),
      load<typeof import('../../src/events/index.js')>('events/index'),
      load<typeof import('../../src/http/server.js')>('http/server'),
      load<typeof import('../../src/stripe/webhooks/index.js')>('stripe/webhooks/index'),
      load<typeof import('../../src/auth/tokens.js')>('auth/tokens'),
    ]);

  const serverUrl = values['database-url'] ?? process.env.TEST_DATABASE_URL;
  let dropDb: (() => Promise<void>) | undefined;
  let orm;
  if (serverUrl) {
    const name = `bench_${randomBytes(4).toString('hex')}`;
    await admin(serverUrl, `create database "${name}"`);
    dropDb = () => admin(serverUrl, `drop database if exists "${name}" with (force)`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    orm = await openOrm({ databaseUrl: url.toString() });
  } else {
    orm = await openOrmWith(createOrmConfig({ dataDir: 'memory://' }));
  }
  const database = serverUrl ? 'postgresql' : 'pglite (in memory)';

  const emu = await startEmulator({ port: 0 });
  const stripe = new Stripe('sk_test_bench', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const catalog = loadCatalog();
  await mirrorCatalog(orm.em.fork(), await syncCatalog(stripe, catalog));

  // The events to deliver: one customer.created per customer, made in the emulator.
  const total = Math.round(RATE * SECONDS);
  process.stderr.write(`preparing ${total} customer.created events…\n`);
  for (let i = 0; i < total; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, k) => stripe.customers.create({ email: `bench${i + k}@example.com` })));
  }
  const list: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ type: 'customer.created', limit: 100 })) list.push(e);
  const payloads = list.reverse().map((e) => ({ customer: (e.data.object as Stripe.Customer).id, body: JSON.stringify(e) }));

  const config = loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: JWT_SECRET, RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0', LOG_LEVEL: 'silent' });
  const bus = events.createSignalBus();
  const signals = events.createSignals({ bus, config });
  const service = createWebhookService({ orm, stripe, webhookSecret: SECRET, catalog, afterEvent: (em, e) => signals.afterEvent(em, e) });
  const server = await createGatewayServer({ config, orm, catalog, bus, checkStripe: async () => undefined, mountBeforeJson: (app) => service.mount(app) });
  const port = await server.listen(0, '127.0.0.1');
  service.start();

  const acked = new Map<string, number>();
  const delivered = new Map<string, number>();
  let waitAll: () => void = () => {};
  const allDelivered = new Promise<void>((r) => (waitAll = r));
  const client = createClient({
    url: `ws://127.0.0.1:${port}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${await signDevToken({ sub: 'bench', role: 'admin' }, JWT_SECRET)}` },
    retryAttempts: 0,
  });
  let ready: () => void = () => {};
  const subscribed = new Promise<void>((r) => (ready = r));
  client.subscribe(
    { query: `subscription { billingEvents(types: [CUSTOMER_CREATED]) { id customerId } }` },
    {
      next: (r) => {
        const ev = (r.data as { billingEvents: { id: string; customerId: string | null } }).billingEvents;
        if (ev.customerId === 'warmup') return ready();
        if (ev.customerId && !delivered.has(ev.customerId)) delivered.set(ev.customerId, performance.now());
        if (delivered.size === payloads.length) waitAll();
      },
      error: (e) => process.stderr.write(`subscription error: ${JSON.stringify(e)}\n`),
      complete: () => {},
    },
  );
  // The subscription starts shortly after the socket opens: publish warm-up events until one arrives.
  const warm = setInterval(() => {
    bus.publish(events.TOPICS.billingEvents, { id: 'warmup', type: 'CUSTOMER_CREATED', occurredAt: new Date().toISOString(), customerId: 'warmup', customerExternalId: null, subscriptionId: null, invoiceId: null, amount: null, message: 'warmup' });
  }, 20);
  await subscribed;
  clearInterval(warm);

  const ackLatency: number[] = [];
  let failures = 0;
  const url = `http://127.0.0.1:${port}/webhooks/stripe`;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  // Open loop: request i is sent at started + i / RATE, whatever the earlier ones are doing.
  for (let i = 0; i < payloads.length; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const { customer, body } = payloads[i]!;
    inflight.push(
      (async () => {
        const t0 = performance.now();
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
          body,
        });
        await res.arrayBuffer();
        const t1 = performance.now();
        if (res.status !== 200) failures++;
        ackLatency.push(t1 - t0);
        acked.set(customer, t1);
      })(),
    );
  }
  await Promise.all(inflight);
  const sendSeconds = (performance.now() - started) / 1000;
  await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 60_000))]);

  const deliveryLatency: number[] = [];
  for (const [customer, t] of delivered) {
    const a = acked.get(customer);
    if (a !== undefined) deliveryLatency.push(Math.max(0, t - a));
  }
  ackLatency.sort((a, b) => a - b);
  deliveryLatency.sort((a, b) => a - b);
  const fmt = (n: number) => `${n.toFixed(1)} ms`;
  const ackP99 = pct(ackLatency, 99);
  const delP99 = pct(deliveryLatency, 99);
  process.stdout.write(
    [
      `database: ${database}; ${payloads.length} events offered at ${RATE}/s over ${SECONDS} s`,
      `acknowledged: ${payloads.length - failures} (${failures} non-2xx), ${((payloads.length - failures) / sendSeconds).toFixed(1)} events/s`,
      `ack latency (request → 2xx):           p50 ${fmt(pct(ackLatency, 50))}  p99 ${fmt(ackP99)}  (target p99 ≤ 50 ms: ${ackP99 <= 50 ? 'met' : 'MISSED'})`,
      `delivery latency (2xx → subscriber):   p50 ${fmt(pct(deliveryLatency, 50))}  p99 ${fmt(delP99)}  (target p99 ≤ 100 ms: ${delP99 <= 100 ? 'met' : 'MISSED'})`,
      `delivered to the subscriber: ${delivered.size}/${payloads.length}`,
      '',
    ].join('\n'),
  );

  await client.dispose();
  await service.stop();
  await server.close();
  await bus.close();
  await emu.close();
  await closeOrm(orm);
  await dropDb?.();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
