/**
 * Part `memory`: RSS of the compiled gateway (`node dist/src/main.js`, its own process, PostgreSQL
 * seeded as for `read`, Stripe = an emulator in this process), idle after start-up, then peak with
 * 1,000 graphql-ws clients subscribed to billingEvents and the `read` load (autocannon) running.
 * RSS from /proc/<pid>/status (VmRSS sampled every 100 ms; VmHWM for the peak).
 *
 * Runs twice: with Node's default V8 flags (`node dist/src/main.js` as `npm start` runs it), then as
 * `node <LEAN_HEAP_OPTIONS> dist/src/main.js` (below), a deployment setting that caps the heap's growth. RSS is
 * reported in MiB; the targets (150 / 300 MB) are compared as MiB, the stricter reading.
 *
 *   npm run bench -- memory [--clients 1000] [--seconds 15] [--connections 10] [--settle 5] [--node-options="…"|--node-options none]
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { BENCH_JWT_SECRET } from '../lib/gateway.ts';
import { rssOf, startBenchEmulator, startGatewayChild } from '../lib/gateway-process.ts';
import { runLoad } from '../lib/load.ts';
import type { BenchPart, BenchRow } from '../lib/part.ts';
import { numberOption, runIfMain } from '../lib/report.ts';
import { seedMirror } from '../lib/seed.ts';
import { fmt } from '../lib/stats.ts';
import { readLoadSpec } from '../read/run.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the client's socket is acknowledged and its subscription sent. */
function subscriber(port: number, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => resolve(client), closed: (e) => reject(new Error(`socket closed before ack: ${(e as { code?: number }).code}`)) },
    });
    client.subscribe(
      { query: 'subscription { billingEvents { id type customerId } }' },
      { next: () => {}, error: (e) => reject(e instanceof Error ? e : new Error(JSON.stringify(e))), complete: () => {} },
    );
  });
}

/** V8 flags that trade some CPU for a smaller heap (young generation capped, old generation grown by 25% steps). */
export const LEAN_HEAP_OPTIONS = '--max-semi-space-size=8 --heap-growing-percent=25';

interface Measured {
  idle: number;
  withClients: number;
  peak: number;
  clients: number;
  requestsPerSecond: number;
}

async function measure(
  ctx: Parameters<BenchPart['run']>[0],
  label: string,
  databaseUrl: string,
  stripeApiBase: string,
  nodeOptions: string | undefined,
  o: { clients: number; seconds: number; connections: number; settle: number },
): Promise<Measured> {
  const gateway = await startGatewayChild({ databaseUrl, stripeApiBase, ...(nodeOptions ? { nodeArgs: nodeOptions.split(' ').filter(Boolean) } : {}) });
  const subs: Client[] = [];
  try {
    const pid = gateway.child.pid!;
    await sleep(o.settle * 1000);
    const idle = (await rssOf(pid)).rss;
    const { signDevToken } = await loadDist<typeof import('../../src/auth/tokens.js')>('auth/tokens');
    const token = await signDevToken({ sub: 'bench', role: 'admin', expiresIn: '2h' }, BENCH_JWT_SECRET);
    for (let i = 0; i < o.clients; i += 50) {
      subs.push(...(await Promise.all(Array.from({ length: Math.min(50, o.clients - i) }, () => subscriber(gateway.port, token)))));
    }
    const withClients = (await rssOf(pid)).rss;
    let peak = withClients;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await rssOf(pid)).rss);
        await sleep(100);
      }
    })();
    const load = await runLoad(readLoadSpec(gateway.url, token, o.seconds, o.connections));
    sampling = false;
    await sampler;
    peak = Math.max(peak, (await rssOf(pid)).peak);
    ctx.log(
      `memory (${label}): idle ${fmt(idle)} MiB after ${o.settle} s; ${subs.length} graphql-ws clients ${fmt(withClients)} MiB; ` +
        `+ read load (${fmt(load.requestsPerSecond)} req/s, p99 ${load.p99} ms) peak ${fmt(peak)} MiB`,
    );
    return { idle, withClients, peak, clients: subs.length, requestsPerSecond: load.requestsPerSecond };
  } finally {
    await Promise.all(subs.map((c) => c.dispose()));
    await gateway.stop();
  }
}

export const part: BenchPart = {
  name: 'memory',
  description: 'gateway RSS idle, and peak with 1,000 graphql-ws subscribers under the read load (default V8 flags, then a lean heap)',
  async run(ctx) {
    const o = {
      clients: numberOption(ctx, 'clients', 1000),
      seconds: numberOption(ctx, 'seconds', 15),
      connections: numberOption(ctx, 'connections', 10),
      settle: numberOption(ctx, 'settle', 5),
    };
    // --node-options="…": the second run's V8 flags (default LEAN_HEAP_OPTIONS; not NODE_OPTIONS, which refuses
    // --heap-growing-percent); --node-options none: one run only.
    const lean = ctx.options['node-options'] ?? LEAN_HEAP_OPTIONS;
    const db = await createBenchDatabase(ctx.databaseUrl, 'memory');
    const emulator = await startBenchEmulator();
    try {
      await seedMirror(db.url);
      const variants: [string, string | undefined][] = [['node defaults', undefined]];
      if (lean !== 'none') variants.push([`node ${lean}`, lean]);
      const rows: BenchRow[] = [];
      for (const [label, nodeOptions] of variants) {
        const m = await measure(ctx, label, db.url, emulator.url, nodeOptions, o);
        const tag = variants.length > 1 ? ` (${label})` : '';
        rows.push(
          { metric: `RSS idle${tag}`, value: m.idle, unit: 'MiB', target: '≤ 150 MB', met: m.idle <= 150 },
          { metric: `RSS with ${m.clients} graphql-ws clients${tag}`, value: m.withClients, unit: 'MiB' },
          { metric: `peak RSS, ${m.clients} clients + read load${tag}`, value: m.peak, unit: 'MiB', target: '≤ 300 MB', met: m.peak <= 300 },
          { metric: `read req/s meanwhile${tag}`, value: m.requestsPerSecond, unit: 'req/s' },
        );
      }
      return rows;
    } finally {
      await emulator.close();
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);
