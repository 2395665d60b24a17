/**
 * Part `memory`: RSS of the gateway in its own process (PostgreSQL seeded as for `read`, Stripe = an
 * emulator in this process), idle after start-up, then peak with 1,000 graphql-ws clients subscribed to
 * billingEvents and the `read` load (autocannon) running. RSS from /proc/<pid>/status (VmRSS sampled every
 * 100 ms; VmHWM for the peak); CPU per request from /proc/<pid>/stat (less noisy than req/s on a busy machine).
 *
 * RSS is reported in MB (10^6 bytes), the unit the targets are written in (150 MB = 143 MiB).
 *
 * Runs, each with its own gateway:
 *   1. the product as users start it: `node bin/billing-gateway.js serve` (the Docker CMD; the bin adds
 *      the heap flags of bin/heap-flags.js, as `npm start` does);
 *   2. `node dist/src/main.js` with Node's default V8 flags, for comparison;
 *   3. with --node-options="A;B": `node A dist/src/main.js`, then `node B …` (V8 flag experiments).
 *
 *   npm run bench -- memory [--clients 1000] [--seconds 15] [--connections 10] [--settle 5] [--node-options="…;…"]
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { BENCH_JWT_SECRET } from '../lib/gateway.ts';
import { cpuMsOf, rssOf, startBenchEmulator, startGatewayChild } from '../lib/gateway-process.ts';
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

interface Variant {
  label: string;
  nodeArgs: string[];
  command?: string[];
}

interface Measured {
  idle: number;
  withClients: number;
  peak: number;
  clients: number;
  requestsPerSecond: number;
  cpuMsPerRequest: number;
}

async function measure(
  ctx: Parameters<BenchPart['run']>[0],
  variant: Variant,
  databaseUrl: string,
  stripeApiBase: string,
  o: { clients: number; seconds: number; connections: number; settle: number },
): Promise<Measured> {
  const { label } = variant;
  const gateway = await startGatewayChild({ databaseUrl, stripeApiBase, nodeArgs: variant.nodeArgs, ...(variant.command ? { command: variant.command } : {}) });
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
    const cpuBefore = await cpuMsOf(pid);
    const load = await runLoad(readLoadSpec(gateway.url, token, o.seconds, o.connections));
    const cpuMsPerRequest = ((await cpuMsOf(pid)) - cpuBefore) / load.total;
    sampling = false;
    await sampler;
    peak = Math.max(peak, (await rssOf(pid)).peak);
    ctx.log(
      `memory (${label}): idle ${fmt(idle)} MB after ${o.settle} s; ${subs.length} graphql-ws clients ${fmt(withClients)} MB; ` +
        `+ read load (${fmt(load.requestsPerSecond)} req/s, p99 ${load.p99} ms, ${cpuMsPerRequest.toFixed(2)} ms CPU/request) peak ${fmt(peak)} MB ` +
        `(MB = 10^6 bytes; ${fmt((idle * 1e6) / 2 ** 20)} / ${fmt((peak * 1e6) / 2 ** 20)} MiB)`,
    );
    return { idle, withClients, peak, clients: subs.length, requestsPerSecond: load.requestsPerSecond, cpuMsPerRequest };
  } finally {
    await Promise.all(subs.map((c) => c.dispose()));
    await gateway.stop();
  }
}

export const part: BenchPart = {
  name: 'memory',
  description: 'gateway RSS idle, and peak with 1,000 graphql-ws subscribers under the read load (as `serve` runs, then with Node defaults)',
  async run(ctx) {
    const o = {
      clients: numberOption(ctx, 'clients', 1000),
      seconds: numberOption(ctx, 'seconds', 15),
      connections: numberOption(ctx, 'connections', 10),
      settle: numberOption(ctx, 'settle', 5),
    };
    // --node-options="A;B": extra runs of `node A dist/src/main.js` (V8 flag experiments).
    const extra = String(ctx.options['node-options'] ?? '')
      .split(';')
      .map((x) => x.trim())
      .filter((x) => x && x !== 'none');
    const variants: Variant[] = [
      { label: 'serve: node bin/billing-gateway.js serve', nodeArgs: [], command: ['bin/billing-gateway.js', 'serve'] },
      { label: 'node defaults: node dist/src/main.js', nodeArgs: [] },
      ...extra.map((v) => ({ label: `node ${v} dist/src/main.js`, nodeArgs: v.split(' ').filter(Boolean) })),
    ];
    const db = await createBenchDatabase(ctx.databaseUrl, 'memory');
    const emulator = await startBenchEmulator();
    try {
      await seedMirror(db.url);
      const rows: BenchRow[] = [];
      for (const variant of variants) {
        const m = await measure(ctx, variant, db.url, emulator.url, o);
        const tag = ` (${variant.label})`;
        rows.push(
          { metric: `RSS idle${tag}`, value: m.idle, unit: 'MB', target: '≤ 150 MB', met: m.idle <= 150 },
          { metric: `RSS with ${m.clients} graphql-ws clients${tag}`, value: m.withClients, unit: 'MB' },
          { metric: `peak RSS, ${m.clients} clients + read load${tag}`, value: m.peak, unit: 'MB', target: '≤ 300 MB', met: m.peak <= 300 },
          { metric: `read req/s meanwhile${tag}`, value: m.requestsPerSecond, unit: 'req/s' },
          { metric: `gateway CPU per read request${tag}`, value: m.cpuMsPerRequest, unit: 'ms' },
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
