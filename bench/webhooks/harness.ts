/**
 * What the webhook and fanout benches share: a temporary PostgreSQL database, two Stripe emulators
 * (one the gateway talks to, one that only makes the customer.created events the bench delivers, so
 * the gateway's start-up events sync finds nothing to ingest), the gateway as its own process
 * (`dist/src/main.js`, optionally under `--cpu-prof`), signed deliveries and graphql-ws subscribers.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import Stripe from 'stripe';
import WebSocket from 'ws';
import type { BenchRow } from '../lib/part.js';
import { adminSql, createBenchDatabase } from '../lib/db.ts';
import { pct } from '../lib/stats.ts';
import { cpuMsOf, startGatewayChild } from '../lib/gateway-process.ts';
import { loadDist, ROOT } from '../lib/dist.ts';

export const SECRET = 'whsec_bench_0123456789abcdef';
export const JWT_SECRET = 'bench-webhooks-secret-0123456789abcdefghij';
export { ROOT };

process.setSourceMapsEnabled(false);
process.env.LOG_LEVEL ??= 'silent';

/** The gateway's modules from the compiled tree (`npm run build` first). */
export const load = loadDist;

export { pct };

export const ms = (n: number) => `${n.toFixed(1)} ms`;

export { adminSql };

/** A fresh, empty database (the gateway migrates it at start). */
export const tempDatabase = (serverUrl: string) => createBenchDatabase(serverUrl, 'webhooks', { migrate: false });

export interface Emulators {
  /** The gateway's Stripe (catalog synced). */
  gatewayBase: string;
  /** Where the delivered events come from. */
  source: Stripe;
  close(): Promise<void>;
}

export async function startEmulators(): Promise<Emulators> {
  const [{ startEmulator }, { syncCatalog }, { loadCatalog }] = await Promise.all([
    import('@billing-gateway/stripe-emulator'),
    load<typeof import('../../src/stripe/catalog-sync.js')>('stripe/catalog-sync'),
    load<typeof import('../../src/catalog.js')>('catalog'),
  ]);
  const gw = await startEmulator({ port: 0 });
  const src = await startEmulator({ port: 0 });
  const gwStripe = new Stripe('sk_test_bench', { host: '127.0.0.1', port: gw.port, protocol: 'http', maxNetworkRetries: 0 });
  await syncCatalog(gwStripe, loadCatalog());
  const source = new Stripe('sk_test_bench', { host: '127.0.0.1', port: src.port, protocol: 'http', maxNetworkRetries: 0 });
  return {
    gatewayBase: `http://127.0.0.1:${gw.port}`,
    source,
    close: async () => {
      await gw.close();
      await src.close();
    },
  };
}

/** `count` real customer.created events (as the emulator emits them), oldest first. */
export async function customerCreatedEvents(stripe: Stripe, count: number, tag: string): Promise<{ customer: string; body: string }[]> {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => stripe.customers.create({ email: `${tag}${i + k}@example.com` })));
  }
  const list: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ type: 'customer.created', limit: 100 })) {
    if ((e.data.object as Stripe.Customer).email?.startsWith(tag)) list.push(e);
  }
  return list.reverse().map((e) => ({ customer: (e.data.object as Stripe.Customer).id, body: JSON.stringify(e) }));
}

export interface Gateway {
  port: number;
  url: string;
  child: ChildProcess;
  /** SIGTERM and wait (the CPU profile is written on exit). */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  databaseUrl: string;
  stripeApiBase: string;
  /** Directory for `--cpu-prof` output; unset: no profile. */
  cpuProfDir?: string;
  env?: Record<string, string>;
}

/** Starts `node dist/src/main.js` with the bench's environment (a secret key, so not the sandbox: the gateway refuses both) and waits until /readyz answers 200. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  return startGatewayChild({
    databaseUrl: opts.databaseUrl,
    stripeApiBase: opts.stripeApiBase,
    nodeArgs: opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [],
    env: { STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_SANDBOX: 'false', STRIPE_WEBHOOK_SECRET: SECRET, AUTH_JWT_SECRET: JWT_SECRET, ...opts.env },
  });
}

/** Sends one signed delivery; resolves with the HTTP status and the time (performance.now()) of the 2xx. */
export async function deliver(url: string, signer: Stripe, body: string): Promise<{ status: number; t0: number; t1: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, t0, t1: performance.now() };
}

export async function adminToken(sub = 'bench'): Promise<string> {
  const { signDevToken } = await load<typeof import('../../src/auth/tokens.js')>('auth/tokens');
  return signDevToken({ sub, role: 'admin' }, JWT_SECRET);
}

/** A graphql-ws client subscribed to CUSTOMER_CREATED billing events; `onEvent(customerId)` per event. */
export function subscribeCustomerCreated(gatewayPort: number, token: string, onEvent: (customerId: string) => void): Client {
  const client = createClient({
    url: `ws://127.0.0.1:${gatewayPort}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
  });
  client.subscribe(
    { query: `subscription { billingEvents(types: [CUSTOMER_CREATED]) { id customerId } }` },
    {
      next: (r) => {
        const ev = (r.data as { billingEvents?: { customerId: string | null } } | null)?.billingEvents;
        if (ev?.customerId) onEvent(ev.customerId);
      },
      error: (e) => process.stderr.write(`subscription error: ${e instanceof Error ? e.message : JSON.stringify(e)}\n`),
      complete: () => {},
    },
  );
  return client;
}

/** Delivers warm-up events until `received()` says every subscriber has one (subscriptions start a little after connect). */
export async function warmUp(url: string, signer: Stripe, warmups: { customer: string; body: string }[], received: (customer: string) => boolean): Promise<void> {
  for (const w of warmups) {
    await deliver(url, signer, w.body);
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      if (received(w.customer)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('subscribers did not receive the warm-up events');
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export const processCpuSeconds = async (pid: number): Promise<number> => (await cpuMsOf(pid)) / 1000;

/** CPU used by the gateway and by this process between `start()` and `stop()`. */
export async function cpuMeter(gatewayPid: number): Promise<{ stop(): Promise<string> }> {
  const g0 = await processCpuSeconds(gatewayPid);
  const b0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    async stop() {
      const g = (await processCpuSeconds(gatewayPid)) - g0;
      const b = process.cpuUsage(b0);
      const wall = (performance.now() - t0) / 1000;
      const bench = (b.user + b.system) / 1e6;
      return `CPU over ${wall.toFixed(1)} s: gateway ${g.toFixed(1)} s (${((g / wall) * 100).toFixed(0)}% of a core), load generator ${bench.toFixed(1)} s (${((bench / wall) * 100).toFixed(0)}%)`;
    },
  };
}

export async function loadAverage(): Promise<string> {
  const { loadavg } = await import('node:os');
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

/** Runs a benchmark's main and exits: 0, or 1 with the stack (open handles such as the emulators must not keep it alive). */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}

/** The benches start the compiled gateway (`dist/src/main.js`): say so when it is missing. */
export function ensureBuilt(): void {
  if (!existsSync(new URL('../../dist/src/main.js', import.meta.url))) throw new Error('dist/src/main.js is missing: run `npm run build` first');
}

/** Prints a part's rows as a small table (when a bench runs alone; the suite prints its own). */
export function printRows(rows: BenchRow[]): void {
  const fmt = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const table = rows.map((r) => [
    r.metric,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)} ${r.baseline.unit}` : '',
    r.target ? `${r.target}: ${r.met === undefined ? '?' : r.met ? 'met' : 'MISSED'}` : '',
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((row) => row[i]!.length)));
  process.stdout.write(`\n${table.map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`);
}
