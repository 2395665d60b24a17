/**
 * Part `memory`: RSS of the compiled gateway (`node dist/src/main.js`, its own process, PostgreSQL
 * seeded as for `read`, Stripe = an emulator in this process), idle after start-up, then peak with
 * 1,000 graphql-ws clients subscribed to billingEvents and the `read` load (autocannon) running.
 * RSS from /proc/<pid>/status (VmRSS sampled every 100 ms; VmHWM for the peak).
 *
 *   npm run bench -- memory [--clients 1000] [--seconds 15] [--connections 10] [--settle 5]
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { BENCH_JWT_SECRET } from '../lib/gateway.ts';
import { rssOf, startBenchEmulator, startGatewayChild } from '../lib/gateway-process.ts';
import { runLoad } from '../lib/load.ts';
import type { BenchPart } from '../lib/part.ts';
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

export const part: BenchPart = {
  name: 'memory',
  description: 'gateway RSS idle, and peak with 1,000 graphql-ws subscribers under the read load',
  async run(ctx) {
    const clients = numberOption(ctx, 'clients', 1000);
    const seconds = numberOption(ctx, 'seconds', 15);
    const connections = numberOption(ctx, 'connections', 10);
    const settle = numberOption(ctx, 'settle', 5);
    const db = await createBenchDatabase(ctx.databaseUrl, 'memory');
    const emulator = await startBenchEmulator();
    const subs: Client[] = [];
    try {
      await seedMirror(db.url);
      // --node-args "--flag …": V8/Node flags for the gateway process (e.g. heap tuning experiments).
      const gateway = await startGatewayChild({ databaseUrl: db.url, stripeApiBase: emulator.url, nodeArgs: ctx.options['node-args']?.split(' ').filter(Boolean) });
      try {
        const pid = gateway.child.pid!;
        await sleep(settle * 1000);
        const idle = (await rssOf(pid)).rss;
        ctx.log(`memory: idle ${fmt(idle)} MiB after ${settle} s`);
        const { signDevToken } = await loadDist<typeof import('../../src/auth/tokens.js')>('auth/tokens');
        const token = await signDevToken({ sub: 'bench', role: 'admin', expiresIn: '2h' }, BENCH_JWT_SECRET);
        for (let i = 0; i < clients; i += 50) {
          subs.push(...(await Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => subscriber(gateway.port, token)))));
        }
        const withClients = (await rssOf(pid)).rss;
        ctx.log(`memory: ${subs.length} graphql-ws clients subscribed: ${fmt(withClients)} MiB`);
        let peak = withClients;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            peak = Math.max(peak, (await rssOf(pid)).rss);
            await sleep(100);
          }
        })();
        const load = await runLoad(readLoadSpec(gateway.url, token, seconds, connections));
        sampling = false;
        await sampler;
        const hwm = (await rssOf(pid)).peak;
        ctx.log(`memory: under the read load (${fmt(load.requestsPerSecond)} req/s, p99 ${load.p99} ms): peak ${fmt(peak)} MiB sampled, VmHWM ${fmt(hwm)} MiB`);
        const loaded = Math.max(peak, hwm);
        return [
          { metric: 'RSS idle', value: idle, unit: 'MiB', target: '≤ 150 MB', met: idle <= 150 },
          { metric: `RSS with ${subs.length} graphql-ws clients`, value: withClients, unit: 'MiB' },
          { metric: `peak RSS, ${subs.length} clients + read load`, value: loaded, unit: 'MiB', target: '≤ 300 MB', met: loaded <= 300 },
          { metric: 'read req/s meanwhile', value: load.requestsPerSecond, unit: 'req/s' },
        ];
      } finally {
        await Promise.all(subs.map((c) => c.dispose()));
        await gateway.stop();
      }
    } finally {
      await emulator.close();
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);
