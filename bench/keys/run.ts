/**
 * API key verification over HTTP (`POST /v1/keys/verify`): the compiled gateway in its own process
 * (`dist/src/main.js`) on a fresh PostgreSQL database and Redis (the shared rate limit), Stripe = an
 * emulator this bench runs, the load from this process (autocannon).
 *
 *   npm run bench -- keys [--seconds 10] [--connections 64] [--redis-url redis://127.0.0.1:6379] [--process serve|main] [--cpu-prof DIR]
 *                         [--alloc-prof DIR [--alloc-survivors]] [--flush-api stream|events] [--flush-rate N] [--node-options="A;B"] [--client raw|http] [--loop-delay]
 *
 * The gateway runs as users start it, `node bin/billing-gateway.js serve` (with its heap flags: 8 MiB
 * semi-spaces); `--process main` runs `node dist/src/main.js` with Node's defaults. `--node-options` adds
 * Node flags to the gateway process only (a heap flag given there wins over serve's).
 * `--loop-delay` (last on the command line) preloads loop-monitor.mjs into the gateway and logs its event-loop
 * delay, GC pauses and the young generation's allocation and promotion during the 2,000/s run (what makes the tail).
 * `--alloc-prof DIR` writes a sampling heap profile of that run (alloc-profile.mjs): every allocation, or with
 * `--alloc-survivors` only what survived the scavenges.
 *
 * Seeding goes through the API (admin token): 40 customers subscribed with the test card (16 on
 * basic_monthly at 60/min, 12 on pro_monthly and 8 on pro_yearly at 600/min, 4 canceled at once), 25 keys
 * each (1,000 keys), 50 of them revoked. Each request picks a random key (1 in 20 an unknown one) and a
 * fresh requestId, so the mix holds VALID (metered: one ledger insert each), RATE_LIMITED (basic keys pass
 * 60/min within seconds), REVOKED, NO_SUBSCRIPTION and NOT_FOUND.
 *
 * Rows: p50/p99 at a fixed 2,000 verifications/s; the sustained rate with `--connections`; the
 * baseline's rate (bench/keys/baseline.ts: express + one indexed SELECT by hash + one Redis INCR,
 * same keys, same load) and the gateway's share of it.
 *
 * The fixed-rate rows come from a paced, open-loop load (paced.ts, in a worker thread): a request every
 * 0.5 ms over up to 32 keep-alive connections, each latency taken from the request's due time, so a
 * stall counts for every request due during it; after 1 s unmeasured. Its client is a minimal one on
 * plain sockets (`--client http`: node:http's, which took twice its CPU on the cores the servers share).
 * Its log line says how late the generator's sends were, the p99 of each answer's code, and (gateway) the
 * share answered within 1, 2.5, 5 and 10 ms as the gateway's own request histogram saw them. autocannon's `overallRate` is logged too, as "bursty", for comparison only:
 * each of its connections sends its share of a second back to back when the second starts, and it
 * records each latency of N ms as N samples (an expected interval of 1 ms), both of which inflate its p99
 * for any server. The sustained row stays closed-loop autocannon (`--connections`, as fast as answered).
 * Every run has requestIds of its own (no run replays an earlier run's ids).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
import { gql } from '../lib/gateway.ts';
import { numberOptions, runIfMain } from '../lib/report.ts';
import { startGatewayChild } from '../lib/gateway-process.ts';
import { pacedLoad, type PacedResult } from './paced.ts';

const harness = (await import(new URL('../webhooks/harness.ts', import.meta.url).href)) as typeof import('../webhooks/harness.js');
const { JWT_SECRET, SECRET, load, startEmulators, tempDatabase, cpuMeter, loadAverage, processCpuSeconds } = harness;

const BASELINE = fileURLToPath(new URL('./baseline.ts', import.meta.url));
const LOOP_MONITOR = fileURLToPath(new URL('./loop-monitor.mjs', import.meta.url));
const ALLOC_PROFILE = fileURLToPath(new URL('./alloc-profile.mjs', import.meta.url));
const PLANS: [string, number][] = [
  ['basic_monthly', 16],
  ['pro_monthly', 12],
  ['pro_yearly', 8],
];
const CANCELED = 4;
const KEYS_PER_CUSTOMER = 25;
const REVOKED = 50;

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map((x, k) => fn(x, i + k)));
}

async function seed(url: string, admin: string): Promise<string[]> {
  const customers: { sub: string; plan: string; cancel: boolean }[] = [];
  for (const [plan, n] of PLANS) for (let i = 0; i < n; i++) customers.push({ sub: `bench-keys-${plan}-${i}`, plan, cancel: false });
  for (let i = 0; i < CANCELED; i++) customers.push({ sub: `bench-keys-canceled-${i}`, plan: 'basic_monthly', cancel: true });
  const keys: string[] = [];
  const ids: string[] = [];
  await inBatches(customers, 8, async (c) => {
    const data = await gql<any>(url, admin, `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id } } }`, {
      input: { plan: c.plan, customerId: c.sub, paymentMethod: 'pm_card_visa', idempotencyKey: `sub-${c.sub}` },
    });
    for (let k = 0; k < KEYS_PER_CUSTOMER; k++) {
      const created = await gql<any>(url, admin, `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`, { input: { name: `key ${k}`, customerId: c.sub } });
      keys.push(created.createApiKey.secret);
      ids.push(created.createApiKey.apiKey.id);
    }
    if (c.cancel) await gql(url, admin, `mutation ($input: CancelInput!) { cancel(input: $input) { id } }`, { input: { subscriptionId: data.subscribe.subscription.id, atPeriodEnd: false } });
  });
  for (let i = 0; i < REVOKED; i++) await gql(url, admin, `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: ids[i * 19 % ids.length] });
  return keys;
}

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  codes: Map<string, number>;
}

let runs = 0;

/** autocannon against `url` with a random key (1 in 20 unknown) and a fresh requestId per request. */
async function verifications(url: string, token: string | null, keys: string[], opts: { seconds: number; connections: number; rate?: number }): Promise<Run> {
  let n = 0;
  const tag = `${process.pid}-${++runs}`;
  const codes = new Map<string, number>();
  const result = await autocannon({
    url,
    method: 'POST',
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    requests: [
      {
        setupRequest: (req) => {
          const key = Math.random() < 0.05 ? `bg_live_unknown${n}` : keys[Math.floor(Math.random() * keys.length)]!;
          req.body = `{"key":"${key}","cost":1,"requestId":"r-${tag}-${n++}"}`;
          return req;
        },
        onResponse: (_status, body) => {
          const code = /"code":"(\w+)"/.exec(body)?.[1] ?? 'unparsed';
          codes.set(code, (codes.get(code) ?? 0) + 1);
        },
      },
    ],
  });
  return { perSecond: result.requests.total / opts.seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, codes };
}

/** The loop monitor's seconds inside [from, to]: worst per-second p99 and max delay, GC pauses by kind, bytes allocated and promoted. */
function loopSummary(file: string, from: number, to: number, verified: number): string {
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { t: number; p50: number; p99: number; max: number; gc: Record<string, { n: number; ms: number; max: number }>; allocated?: number; promoted?: number })
    .filter((x) => x.t > from + 1000 && x.t <= to);
  if (lines.length === 0) return 'no loop samples';
  const gc = new Map<string, { n: number; ms: number; max: number }>();
  for (const l of lines) {
    for (const [kind, v] of Object.entries(l.gc)) {
      const g = gc.get(kind) ?? { n: 0, ms: 0, max: 0 };
      gc.set(kind, { n: g.n + v.n, ms: g.ms + v.ms, max: Math.max(g.max, v.max) });
    }
  }
  const worst = (f: (x: (typeof lines)[number]) => number) => Math.max(...lines.map(f)).toFixed(1);
  const median = (f: (x: (typeof lines)[number]) => number) => lines.map(f).sort((a, b) => a - b)[Math.floor(lines.length / 2)]!.toFixed(1);
  const gcText = [...gc].map(([k, v]) => `${k} ${v.n}× (${v.ms.toFixed(1)} ms, longest ${v.max.toFixed(1)} ms)`).join(', ') || 'none';
  const allocated = lines.reduce((s, l) => s + (l.allocated ?? 0), 0);
  const promoted = lines.reduce((s, l) => s + (l.promoted ?? 0), 0);
  const perVerification = (bytes: number) => `${(bytes / Math.max(1, verified * lines.length) / 1024).toFixed(1)} KB per verification`;
  const heap = `; young generation: ${(allocated / lines.length / 1e6).toFixed(1)} MB/s allocated (${perVerification(allocated)}), ${(promoted / lines.length / 1e6).toFixed(2)} MB/s promoted (${perVerification(promoted)})`;
  return `event-loop delay over ${lines.length} s: p99 per second median ${median((x) => x.p99)} ms, worst ${worst((x) => x.p99)} ms; longest ${worst((x) => x.max)} ms; GC ${gcText}${heap}`;
}

/** The gateway's `http_request_duration_seconds` buckets for 200s of the verify route: upper bound (s) → count so far. */
async function verifyHistogram(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^http_request_duration_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = m[1]!;
    if (!labels.includes(`route="/v1/keys/verify"`) || !labels.includes('status="200"')) continue;
    out.set(/le="([^"]+)"/.exec(labels)![1]!, Number(m[2]));
  }
  return out;
}

/** The share of the requests between two snapshots answered within each bound up to 10 ms. */
function withinText(before: Map<string, number>, after: Map<string, number>): string {
  const delta = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = delta('+Inf');
  return ['0.001', '0.0025', '0.005', '0.01'].map((le) => `${((100 * delta(le)) / Math.max(1, total)).toFixed(2)}% within ${Number(le) * 1000} ms`).join(', ') + ` (${total} requests)`;
}

/** The target's load: 2,000/s paced (paced.ts), after 1 s unmeasured, same keys and mix. */
const paced = (url: string, token: string | null, keys: string[], seconds: number, client: 'raw' | 'http'): Promise<PacedResult> =>
  pacedLoad({ url, token, keys, rate: 2000, seconds, warmupSeconds: 1, connections: 32, runTag: `${process.pid}-${++runs}`, client });

const pacedText = (r: PacedResult): string =>
  `${Math.round(r.perSecond)}/s paced, p50 ${r.p50} ms, p99 ${r.p99} ms, p99.9 ${r.p999} ms, max ${r.max} ms, non-2xx ${r.non2xx}, errors ${r.errors}; sends late by p50 ${r.late.p50} ms, p99 ${r.late.p99} ms, max ${r.late.max} ms (generator loop delay p99 ${r.loop.p99} ms, max ${r.loop.max} ms); p99 by code: ${r.p99ByCode.map(([c, v]) => `${c} ${v} ms`).join(', ')}; slow stretches (answers over 10 ms): ${r.stalls.map((x) => `${x.requests} from ${x.at} ms for ${x.ms} ms (worst ${x.worst} ms)`).join(', ') || 'none'}`;

const mix = (codes: Map<string, number>) => [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');

async function startBaseline(databaseUrl: string, redisUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', BASELINE, databaseUrl, redisUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`baseline exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/verify`, child };
}

export const part: BenchPart = {
  name: 'keys',
  description: 'API key verification over HTTP: p50/p99 at 2,000/s, sustained verifications/s, against express + SELECT by hash + Redis INCR',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const { seconds, connections } = numberOptions(ctx, { seconds: 10, connections: 64 });
    const redisUrl = ctx.options['redis-url'] ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await probe.connect().catch(() => undefined);
    const redisUp = (await probe.ping().catch(() => null)) === 'PONG';
    probe.disconnect();
    if (!redisUp) throw new Error(`Redis is needed at ${redisUrl} (--redis-url or BENCH_REDIS_URL)`);

    const db = await tempDatabase(ctx.databaseUrl);
    const emus = await startEmulators();
    let gateway: Awaited<ReturnType<typeof startGatewayChild>> | undefined;
    let baseline: { child: ChildProcess } | undefined;
    try {
      // The v2 meter event stream carries the VALID answers' usage (~1,600 rows/s here): one request per row
      // (`events`) cannot keep up at Stripe's rates, and its requests would load the emulator in this process.
      const flushApi = ctx.options['flush-api'] ?? 'stream';
      // `--flush-rate 0`: no meter-event flusher in the gateway, to see what its bursts add to the tail.
      const flushRate = ctx.options['flush-rate'];
      if (flushRate !== undefined && !/^\d+$/.test(flushRate)) throw new Error(`--flush-rate: a whole number of meter events per second, got ${JSON.stringify(flushRate)}`);
      const loopFile = ctx.options['loop-delay'] !== undefined ? join(mkdtempSync(join(tmpdir(), 'bench-keys-')), 'loop.jsonl') : null;
      const allocDir = ctx.options['alloc-prof'] ?? null;
      // As users run it (`billing-gateway serve`: the Docker CMD, with the heap flags of bin/heap-flags.js);
      // `--process main` runs `node dist/src/main.js` with Node's defaults instead (64 MiB semi-spaces here).
      const client = ctx.options.client ?? 'raw';
      if (client !== 'raw' && client !== 'http') throw new Error(`--client: raw or http, got ${JSON.stringify(client)}`);
      const processKind = ctx.options.process ?? 'serve';
      if (processKind !== 'serve' && processKind !== 'main') throw new Error(`--process: serve or main, got ${JSON.stringify(processKind)}`);
      gateway = await startGatewayChild({
        ...(processKind === 'serve' ? { command: ['bin/billing-gateway.js', 'serve'] } : {}),
        databaseUrl: db.url,
        stripeApiBase: emus.gatewayBase,
        nodeArgs: [...(ctx.options['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', ctx.options['cpu-prof']] : []), ...(loopFile ? ['--import', LOOP_MONITOR] : []), ...(allocDir ? ['--import', ALLOC_PROFILE] : []), ...gatewayNodeArgs(ctx.options['node-options'])],
        // As bench/webhooks/harness.ts's startGateway, plus Redis, the flusher's API and the loop monitor's file.
        env: {
          STRIPE_SECRET_KEY: 'sk_test_bench',
          STRIPE_SANDBOX: 'false',
          STRIPE_WEBHOOK_SECRET: SECRET,
          AUTH_JWT_SECRET: JWT_SECRET,
          REDIS_URL: redisUrl,
          USAGE_FLUSH_API: flushApi,
          ...(flushRate !== undefined ? { USAGE_FLUSH_RATE_PER_SECOND: flushRate } : {}),
          ...(loopFile ? { KEYS_LOOP_FILE: loopFile } : {}),
          ...(allocDir ? { KEYS_ALLOC_PROF_DIR: allocDir, KEYS_ALLOC_PROF_SURVIVORS: ctx.options['alloc-survivors'] ? '1' : '0' } : {}),
        },
      });
      const { signDevToken } = await load<typeof import('../../src/auth/tokens.js')>('auth/tokens');
      const admin = await signDevToken({ sub: 'bench-admin', role: 'admin' }, JWT_SECRET);
      const service = await signDevToken({ sub: 'bench-backend', role: 'service' }, JWT_SECRET);
      const t0 = performance.now();
      const keys = await seed(gateway.url, admin);
      ctx.log(`gateway process: ${processKind === 'serve' ? 'node bin/billing-gateway.js serve (its heap flags)' : 'node dist/src/main.js (Node defaults)'}${ctx.options['node-options'] ? ` + ${ctx.options['node-options']}` : ''}`);
      ctx.log(`usage flusher: USAGE_FLUSH_API=${flushApi}${flushRate !== undefined ? `, USAGE_FLUSH_RATE_PER_SECOND=${flushRate}` : ''}; seeded ${keys.length} keys for ${PLANS.reduce((s, [, n]) => s + n, 0) + CANCELED} customers in ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${await loadAverage()}`);
      const verifyUrl = `${gateway.url}/v1/keys/verify`;

      await verifications(verifyUrl, service, keys, { seconds: 3, connections });
      const fixedFrom = Date.now();
      const histogramBefore = await verifyHistogram(gateway.url);
      if (allocDir) gateway.child.kill('SIGUSR2');
      const fixed = await paced(verifyUrl, service, keys, seconds, client);
      if (allocDir) gateway.child.kill('SIGUSR2');
      ctx.log(`gateway at 2,000/s: ${pacedText(fixed)}; ${mix(fixed.codes)}`);
      ctx.log(`gateway at 2,000/s, inside the gateway (request histogram, arrival to answer written): ${withinText(histogramBefore, await verifyHistogram(gateway.url))}`);
      if (loopFile) {
        await new Promise((r) => setTimeout(r, 1100));
        ctx.log(`gateway during the 2,000/s run: ${loopSummary(loopFile, fixedFrom, Date.now() - 1100, fixed.perSecond)}`);
      }
      const bursty = await verifications(verifyUrl, service, keys, { seconds, connections: 32, rate: 2000 });
      ctx.log(`gateway at 2,000/s bursty (autocannon overallRate over 32 connections, for comparison): p50 ${bursty.p50} ms, p99 ${bursty.p99} ms, non-2xx ${bursty.non2xx}`);
      const cpu = await cpuMeter(gateway.child.pid!);
      const gCpu0 = await processCpuSeconds(gateway.child.pid!);
      const sustained = await verifications(verifyUrl, service, keys, { seconds, connections });
      const gCpuMs = ((await processCpuSeconds(gateway.child.pid!)) - gCpu0) * 1000 / Math.max(1, sustained.perSecond * seconds);
      ctx.log(`gateway sustained (${connections} connections): ${Math.round(sustained.perSecond)}/s, p50 ${sustained.p50} ms, p99 ${sustained.p99} ms, non-2xx ${sustained.non2xx}; ${mix(sustained.codes)}; ${await cpu.stop()}; ${gCpuMs.toFixed(3)} ms CPU per verification`);
      // Whether the flusher kept up: rows still unsent, and rows delivered, once the load stopped.
      const metricsText = await (await fetch(`${gateway.url}/metrics`)).text();
      const metric = (re: RegExp) => re.exec(metricsText)?.[1] ?? '?';
      ctx.log(`usage ledger after the runs: backlog ${metric(/^usage_meter_events_backlog (\S+)$/m)}, lag ${metric(/^usage_meter_events_lag_seconds (\S+)$/m)} s, delivered ${metric(/^usage_meter_events_sent_total\{result="created"\} (\S+)$/m)}`);
      await gateway.stop();
      gateway = undefined;

      const b = await startBaseline(db.url, redisUrl);
      baseline = b;
      await verifications(b.url, null, keys, { seconds: 3, connections });
      const bFixed = await paced(b.url, null, keys, seconds, client);
      ctx.log(`baseline at 2,000/s: ${pacedText(bFixed)}`);
      const bBursty = await verifications(b.url, null, keys, { seconds, connections: 32, rate: 2000 });
      ctx.log(`baseline at 2,000/s bursty (autocannon overallRate, for comparison): p50 ${bBursty.p50} ms, p99 ${bBursty.p99} ms`);
      const bCpu0 = await processCpuSeconds(b.child.pid!);
      const bMax = await verifications(b.url, null, keys, { seconds, connections });
      const bCpuMs = ((await processCpuSeconds(b.child.pid!)) - bCpu0) * 1000 / Math.max(1, bMax.perSecond * seconds);
      ctx.log(`baseline ${Math.round(bMax.perSecond)}/s, p99 ${bMax.p99} ms; ${mix(bMax.codes)}; ${bCpuMs.toFixed(3)} ms CPU per request`);

      const bad = fixed.non2xx + fixed.errors + sustained.non2xx;
      const share = sustained.perSecond / bMax.perSecond;
      return [
        { metric: 'verify p50 at 2,000/s paced (1,000 keys, mixed outcomes)', value: fixed.p50, unit: 'ms', baseline: { name: 'express + SELECT by hash + Redis INCR', value: bFixed.p50, unit: 'ms' } },
        { metric: 'verify p99 at 2,000/s paced', value: fixed.p99, unit: 'ms', baseline: { name: 'express + SELECT by hash + Redis INCR', value: bFixed.p99, unit: 'ms' }, target: 'p99 ≤ 5 ms', met: fixed.p99 <= 5 && bad === 0 },
        { metric: 'verify p99 at 2,000/s bursty (autocannon overallRate, 32 connections; not the target)', value: bursty.p99, unit: 'ms', baseline: { name: 'express + SELECT by hash + Redis INCR', value: bBursty.p99, unit: 'ms' } },
        {
          metric: `verifications sustained (${connections} connections)`,
          value: Math.round(sustained.perSecond),
          unit: 'verifications/s',
          baseline: { name: 'express + SELECT by hash + Redis INCR', value: Math.round(bMax.perSecond), unit: 'req/s' },
          target: '≥ 5,000/s',
          met: sustained.perSecond >= 5_000 && bad === 0,
        },
        { metric: 'share of the baseline rate', value: Math.round(share * 100), unit: '%', target: '≥ 60%', met: share >= 0.6 },
        { metric: 'process CPU per verification (sustained run)', value: Number(gCpuMs.toFixed(3)), unit: 'ms', baseline: { name: 'express + SELECT by hash + Redis INCR', value: Number(bCpuMs.toFixed(3)), unit: 'ms' } },
      ];
    } finally {
      await gateway?.stop();
      baseline?.child.kill('SIGTERM');
      await emus.close();
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);

/** `--node-options="A;B"`: extra Node flags for the gateway process only (heap experiments). */
function gatewayNodeArgs(value: string | undefined): string[] {
  return value ? value.split(';').map((flag) => flag.trim()).filter(Boolean) : [];
}
