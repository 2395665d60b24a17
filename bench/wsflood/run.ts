/**
 * Part `wsflood`: one customer token opens --sockets WebSockets (default 100) with --subscriptions
 * billingEvents subscriptions each (default 40), then stops reading; events for that customer keep
 * coming (--events of --bytes each). RSS of the gateway process (/proc: idle, peak as VmHWM, and after
 * the clients have gone), first with the WebSocket limits off (WS_MAX_* = 0; only the 8 MiB per
 * socket), then with the defaults of src/config.ts. Target: peak RSS under 400 MB with the defaults.
 *
 * The gateway is bench/wsflood/gateway-child.ts (the server of `serve`, with `serve`'s heap flags, an
 * in-process signal bus the part publishes on through a bench-only route); the clients are raw `ws`
 * sockets in this process speaking graphql-transport-ws, paused once their subscriptions are live.
 *
 *   npm run bench -- wsflood [--sockets 100] [--subscriptions 40] [--events 400] [--bytes 2000]
 */
import WebSocket from 'ws';
import { GATEWAY_HEAP_FLAGS } from '../../bin/heap-flags.js';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { BENCH_JWT_SECRET } from '../lib/gateway.ts';
import { rssOf, startGatewayChild, type GatewayChild } from '../lib/gateway-process.ts';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { numberOption, runIfMain } from '../lib/report.ts';
import { fmt } from '../lib/stats.ts';

interface Options {
  sockets: number;
  subscriptions: number;
  events: number;
  bytes: number;
}

interface Stats {
  /** process.memoryUsage() of the gateway: JS heap and memory outside it (Buffers), in bytes. */
  heapUsed: number;
  external: number;
  sockets: number;
  tokens: number;
  bufferedBytes: number;
  slowConsumersClosed: number;
  keys: number;
  subscribers: number;
}

/** Polls `check` every 50 ms until it holds; throws `what` after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface FloodSocket {
  ws: WebSocket;
  acked: boolean;
  nexts: number;
  errors: number;
  closeCode?: number;
  closeReason?: string;
}

/** A graphql-transport-ws socket that subscribes `n` times once acknowledged. Resolves when acked or closed. */
function floodSocket(url: string, token: string, n: number): Promise<FloodSocket> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const s: FloodSocket = { ws, acked: false, nexts: 0, errors: 0 };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string };
      if (msg.type === 'connection_ack') {
        s.acked = true;
        for (let i = 0; i < n; i++) ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: 'subscription { billingEvents { id type occurredAt customerId message } }' } }));
        resolve(s);
      } else if (msg.type === 'next') s.nexts++;
      else if (msg.type === 'error') s.errors++;
    });
    ws.on('error', () => undefined);
    ws.on('close', (code, reason) => {
      s.closeCode = code;
      s.closeReason = String(reason);
      resolve(s);
    });
  });
}

async function measure(ctx: BenchContext, label: string, env: Record<string, string>, databaseUrl: string, o: Options): Promise<BenchRow[]> {
  const gateway: GatewayChild = await startGatewayChild({
    databaseUrl,
    stripeApiBase: 'http://127.0.0.1:9',
    command: ['bench/wsflood/gateway-child.ts'],
    nodeArgs: ['--experimental-transform-types', '--no-warnings', '--expose-gc', ...GATEWAY_HEAP_FLAGS],
    env,
  });
  const sockets: FloodSocket[] = [];
  try {
    const pid = gateway.child.pid!;
    const stats = async (gc = false) => (await (await fetch(`${gateway.url}/_bench/stats${gc ? '?gc=1' : ''}`)).json()) as Stats;
    const publish = async (n: number, bytes: number) => {
      const res = await fetch(`${gateway.url}/_bench/publish?n=${n}&bytes=${bytes}&owner=flood`, { method: 'POST' });
      await res.arrayBuffer();
    };
    await new Promise((r) => setTimeout(r, 2000));
    const idle = (await rssOf(pid)).rss;
    const idleStats = await stats();

    const { signDevToken } = await loadDist<typeof import('../../src/auth/tokens.js')>('auth/tokens');
    const token = await signDevToken({ sub: 'flood', email: 'flood@example.com', expiresIn: '2h' }, BENCH_JWT_SECRET);
    const wsUrl = `ws://127.0.0.1:${gateway.port}/graphql`;
    for (let i = 0; i < o.sockets; i += 10) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(10, o.sockets - i) }, () => floodSocket(wsUrl, token, o.subscriptions)))));
    }
    const accepted = sockets.filter((s) => s.acked && s.closeCode === undefined);
    const refused = sockets.filter((s) => !s.acked);
    // The subscriptions are live once every accepted socket has received an event; then nobody reads.
    await waitFor('the subscriptions to go live', async () => {
      await publish(1, 10);
      return accepted.every((s) => s.nexts > 0 || s.closeCode !== undefined);
    });
    const live = (await stats()).subscribers;
    const subscriptionsRefused = accepted.reduce((n, s) => n + s.errors, 0);
    for (const s of accepted) s.ws.pause();

    let peakSampled = 0;
    for (let sent = 0; sent < o.events; sent += 20) {
      await publish(Math.min(20, o.events - sent), o.bytes);
      peakSampled = Math.max(peakSampled, (await rssOf(pid)).rss);
    }
    const during = await stats();
    const peak = Math.max(peakSampled, (await rssOf(pid)).peak);
    const closedSlow = accepted.filter((s) => s.closeCode !== undefined).length;

    // The clients go (a cut connection, as a crashed dashboard's); the gateway must keep nothing of them.
    for (const s of sockets) s.ws.terminate();
    await waitFor('the gateway to release every socket', async () => {
      const st = await stats();
      return st.sockets === 0 && st.subscribers === 0 && st.keys === 0 && st.tokens === 0;
    });
    // V8 collects an idle process's garbage within seconds (its memory reducer); give it that.
    await new Promise((r) => setTimeout(r, 10_000));
    const after = (await rssOf(pid)).rss;
    const afterStats = await stats();
    const collected = await stats(true);
    const afterGc = (await rssOf(pid)).rss;
    const mb = (b: number) => fmt(b / 1e6);

    const refusedCodes = [...new Set(refused.map((s) => `${s.closeCode} ${s.closeReason}`))].join('; ') || 'none';
    ctx.log(
      `wsflood (${label}): ${sockets.length} sockets opened, ${accepted.length} accepted (refused: ${refused.length}, ${refusedCodes}); ` +
        `${live} live subscriptions (${subscriptionsRefused} refused); ${o.events} events × ${o.bytes} B; slow consumers closed by the gateway: ${during.slowConsumersClosed} ` +
        `(${closedSlow} of them had their close reach the paused client by then); RSS idle ${fmt(idle)} MB, peak ${fmt(peak)} MB, after the clients left ${fmt(after)} MB; ` +
        `JS heap + external (Buffers) idle ${mb(idleStats.heapUsed)} + ${mb(idleStats.external)} MB, during ${mb(during.heapUsed)} + ${mb(during.external)} MB, after ${mb(afterStats.heapUsed)} + ${mb(afterStats.external)} MB, ` +
        `after a forced GC ${mb(collected.heapUsed)} + ${mb(collected.external)} MB (RSS ${fmt(afterGc)} MB)`,
    );
    const tag = ` (${label})`;
    return [
      { metric: `RSS idle${tag}`, value: idle, unit: 'MB' },
      { metric: `peak RSS, ${o.sockets} sockets × ${o.subscriptions} subscriptions not reading${tag}`, value: peak, unit: 'MB', ...(label === 'defaults' ? { target: '< 400 MB', met: peak < 400 } : {}) },
      { metric: `RSS 10 s after the clients left${tag}`, value: after, unit: 'MB' },
      { metric: `JS heap + Buffers 10 s after the clients left (idle: ${fmt((idleStats.heapUsed + idleStats.external) / 1e6)} MB)${tag}`, value: (afterStats.heapUsed + afterStats.external) / 1e6, unit: 'MB' },
      { metric: `JS heap + Buffers after a forced GC${tag}`, value: (collected.heapUsed + collected.external) / 1e6, unit: 'MB' },
      { metric: `RSS after a forced GC${tag}`, value: afterGc, unit: 'MB' },
      { metric: `sockets accepted of ${o.sockets}${tag}`, value: accepted.length, unit: 'sockets' },
      { metric: `live subscriptions${tag}`, value: live, unit: 'subscriptions' },
      { metric: `slow consumers closed${tag}`, value: during.slowConsumersClosed, unit: 'sockets' },
    ];
  } finally {
    for (const s of sockets) s.ws.terminate();
    await gateway.stop();
  }
}

export const part: BenchPart = {
  name: 'wsflood',
  description: 'gateway RSS while one token floods WebSockets and reads nothing (limits off, then the defaults)',
  async run(ctx) {
    const o: Options = {
      sockets: numberOption(ctx, 'sockets', 100),
      subscriptions: numberOption(ctx, 'subscriptions', 40),
      events: numberOption(ctx, 'events', 400),
      bytes: numberOption(ctx, 'bytes', 2000),
    };
    const db = await createBenchDatabase(ctx.databaseUrl, 'wsflood');
    try {
      const off = { WS_MAX_SOCKETS_PER_TOKEN: '0', WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '0', WS_MAX_BUFFERED_BYTES: '0' };
      // Empty counts as unset: the defaults (startGatewayChild turns the per-token limit off for the other parts).
      const defaults = { WS_MAX_SOCKETS_PER_TOKEN: '' };
      return [...(await measure(ctx, 'limits off', off, db.url, o)), ...(await measure(ctx, 'defaults', defaults, db.url, o))];
    } finally {
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);
