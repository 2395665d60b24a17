/**
 * Webhook streams against @supabase/stripe-sync-engine (bench-only dev dependency): one lifecycle corpus
 * recorded from the emulator (lib/corpus.ts) is replayed as the same signed deliveries (concurrency 16)
 * to the gateway (its own process, `dist/src/main.js`) and to sync-engine in payload and revalidating
 * modes (a process of its own too, `--peer-process inline`: in this one), each on a fresh database, in order, under chaos and with same-second ties
 * (lib/delivery.ts). Each mirror is then compared with the emulator's truth (lib/drift.ts). The bodies
 * are signed before a run's clock starts and sent with a minimal HTTP client (../lib/raw-http.ts;
 * `--sender fetch`: undici's, as runs before 2026-12-07 did), so the bench's own process takes little of
 * the two cores the systems measured run on.
 *
 * Printed per system and scenario: events/s fully processed (deliveries ÷ time from the first send to
 * the last event processed), Stripe API calls per 1,000 deliveries (and, per system, by path), drift
 * missing/stale/extra, and where the CPU went per delivery (the receiving process, its PostgreSQL
 * backends, this process): with every process on the same cores, their sum is what bounds events/s. Every system starts on an empty mirror (the gateway's database is marked
 * backfilled, so it does not first copy the account: that is the `backfill` sub-part).
 *
 * `gateway-ack-only` is a bound, not a result: the same gateway with its webhook worker not started
 * (lib/ack-only.mjs), timed until every delivery is acknowledged and stored. Whatever applying the
 * events costs comes on top of it, so no design that keeps this acknowledgement can go faster.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/peers/webhooks.ts \
 *     [--customers 150] [--months 3] [--seed 42] [--concurrency 16] [--scenarios in-order,chaos,same-second]
 *     [--systems gateway,gateway-ack-only,sync-engine-payload,sync-engine-revalidate] [--cpu-prof DIR] [--peer-process child|inline]
 *     [--gateway-node-options="--import ./x.mjs"] [--sender raw|fetch]
 *
 * Not the same work: sync-engine also writes the types the gateway ignores (charges, payment intents,
 * products, prices…), and the gateway also derives billing signals in the same transaction (which
 * sync-engine does not have); the gateway acknowledges first and processes in its worker, sync-engine
 * processes inside the request.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Stripe from 'stripe';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { runIfMain } from '../lib/report.ts';
import { createBenchDatabase } from '../lib/db.ts';
import { startGatewayChild } from '../lib/gateway-process.ts';
import { rawHttpClient } from '../lib/raw-http.ts';
import { recordCorpus, type Corpus } from './lib/corpus.ts';
import { deliveries, SCENARIOS, sendAll, type Scenario } from './lib/delivery.ts';
import { compare, driftLine, driftTotal, fieldsOf, idsOf, KINDS, readTruth, type Kind, type Truth } from './lib/drift.ts';
import { cpuDelta, pgBackendsCpu, processCpuMs } from './lib/cpu.ts';

const SECRET = 'whsec_bench_0123456789abcdef';
const signer = new Stripe('sk_test_signer');
const sign = (payload: string) => signer.webhooks.generateTestHeaderString({ payload, secret: SECRET });

export type SystemName = 'gateway' | 'gateway-ack-only' | 'sync-engine-payload' | 'sync-engine-revalidate';
export const SYSTEMS: SystemName[] = ['gateway', 'gateway-ack-only', 'sync-engine-payload', 'sync-engine-revalidate'];

export interface RunResult {
  system: SystemName;
  scenario: Scenario;
  deliveries: number;
  seconds: number;
  eventsPerSecond: number;
  apiCallsPer1000: number;
  drift: { missing: number; stale: number; extra: number };
  /** Set for a bound (nothing applied): what it measures. */
  bound?: string;
  line: string;
}

export interface WebhooksOptions {
  customers: number;
  months: number;
  seed: number;
  concurrency: number;
  scenarios: Scenario[];
  systems: SystemName[];
  cpuProf?: string;
  /** Extra node flags of the gateway's process (e.g. `--import ./count.mjs`), split on spaces. */
  gatewayNodeArgs: string[];
  /** Where sync-engine runs: `child` (a process of its own, as the gateway; default) or `inline` (the bench's process). */
  peerProcess: 'child' | 'inline';
  /** The senders' HTTP client: `raw` (default, ../lib/raw-http.ts) or `fetch` (undici, as earlier runs). */
  sender: 'raw' | 'fetch';
}

export function webhooksOptions(o: Record<string, string | undefined>): WebhooksOptions {
  const num = (k: string, d: number) => (o[k] === undefined ? d : Number(o[k]));
  const list = <T extends string>(k: string, all: T[]) => (o[k] ? (o[k]!.split(',').filter((x) => (all as string[]).includes(x)) as T[]) : all);
  return {
    customers: num('customers', 150),
    months: num('months', 3),
    seed: num('seed', 42),
    concurrency: num('concurrency', 16),
    scenarios: list('scenarios', SCENARIOS),
    systems: list('systems', SYSTEMS),
    cpuProf: o['cpu-prof'],
    gatewayNodeArgs: o['gateway-node-options'] ? o['gateway-node-options'].split(' ').filter(Boolean) : [],
    peerProcess: o['peer-process'] === 'inline' ? 'inline' : 'child',
    sender: o.sender === 'fetch' ? 'fetch' : 'raw',
  };
}

/** A system under test on a fresh database: deliver one body, wait until all is processed, read its mirror. */
interface System {
  /** Where the deliveries are POSTed. */
  url: string;
  /** Resolves when every delivered event is processed (the gateway's worker; sync-engine: at the 2xx). */
  settled(expected: number): Promise<void>;
  mirror(): Promise<Record<Kind, Map<string, Record<string, unknown> | null>>>;
  /** Anything worth a log line (e.g. why deliveries were refused). */
  notes?(): string;
  /** Set for a system that applies nothing (a bound): what it measures. No drift is compared. */
  bound?: string;
  /** CPU used so far (ms) by the receiving process (null: it is this one) and by its database's backends. */
  cpu(): Promise<SystemCpu>;
  close(): Promise<void>;
}

export interface SystemCpu {
  server: number | null;
  database: Map<number, number>;
}

/** The receiving process and the PostgreSQL backends of `database` (`client`'s own excluded). */
export async function systemCpu(pid: number | null | undefined, client: pg.Client, database: string): Promise<SystemCpu> {
  return { server: pid ? processCpuMs(pid) : null, database: await pgBackendsCpu(client, database) };
}

const ACK_ONLY = fileURLToPath(new URL('./lib/ack-only.mjs', import.meta.url));

async function gatewaySystem(serverUrl: string, corpus: Corpus, cpuProf?: string, nodeArgs: string[] = [], ackOnly = false): Promise<System> {
  const db = await createBenchDatabase(serverUrl, 'peers');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // Marked as backfilled, so the gateway starts on an empty mirror like sync-engine: otherwise it would
  // first copy the emulator's final state (`sync --full` of a new database: the backfill sub-part's
  // subject), and then re-read every object once, since those copies carry no event time.
  await client.query(`insert into sync_state (key, value) values ('sync.backfilled_at', now()::text)`);
  const gw = await startGatewayChild({
    databaseUrl: db.url,
    stripeApiBase: corpus.apiBase,
    nodeArgs: [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []), ...(ackOnly ? ['--import', ACK_ONLY] : []), ...nodeArgs],
    env: { STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_SANDBOX: 'false', STRIPE_WEBHOOK_SECRET: SECRET },
  });
  return {
    url: `${gw.url}/webhooks/stripe`,
    async settled(expected) {
      const deadline = Date.now() + 240_000;
      for (;;) {
        const r = await client.query<{ stored: number; open: number }>(
          `select count(*)::int as stored, count(*) filter (where status in ('pending', 'processing'))::int as open from webhook_events`,
        );
        if (r.rows[0]!.stored >= expected && (ackOnly || r.rows[0]!.open === 0)) return;
        if (Date.now() > deadline) throw new Error(`gateway: ${JSON.stringify(r.rows[0])} of ${expected} after 240 s`);
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    mirror: () => gatewayMirror(client),
    cpu: () => systemCpu(gw.child.pid, client, new URL(db.url).pathname.slice(1)),
    ...(ackOnly ? { bound: 'the gateway acknowledging alone (its worker not started, nothing applied): the ceiling of any processing behind it' } : {}),
    async close() {
      await client.end();
      await gw.stop();
      await db.drop();
    },
  };
}

/** The gateway's mirror rows (their `raw` copy), as the drift comparison wants them. */
export async function gatewayMirror(client: pg.Client): Promise<Record<Kind, Map<string, Record<string, unknown> | null>>> {
  const out = {} as Record<Kind, Map<string, Record<string, unknown> | null>>;
  const tables: Record<Kind, string> = { customer: 'customers', subscription: 'subscriptions', invoice: 'invoices' };
  for (const kind of KINDS) {
    const rows = await client.query<{ id: string; raw: Record<string, unknown> | null; deleted?: boolean }>(
      `select "id", "raw"${kind === 'customer' ? ', "deleted"' : ''} from "${tables[kind]}"`,
    );
    out[kind] = new Map(rows.rows.map((r) => [r.id, r.deleted ? null : fieldsOf(kind, r.raw)]));
  }
  return out;
}

/**
 * The deliveries' HTTP client, one per run, `concurrency` keep-alive connections: the same for every
 * system. `raw` takes a fraction of `fetch`'s CPU, which the bench's process otherwise takes from the
 * two cores it shares with the system measured (0.3–0.5 ms per delivery, as much as a receiver's).
 */
function senderFor(url: string, o: WebhooksOptions): { post(body: string, signature: string): Promise<number>; close(): void } {
  if (o.sender === 'fetch') {
    return {
      async post(body, signature) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
        await res.arrayBuffer();
        return res.status;
      },
      close: () => undefined,
    };
  }
  const client = rawHttpClient(new URL(url), { 'content-type': 'application/json' }, o.concurrency);
  return { post: async (body, signature) => (await client.post(body, `stripe-signature: ${signature}\r\n`)).status, close: () => client.close() };
}

type SystemFactory = (serverUrl: string, corpus: Corpus, o: WebhooksOptions) => Promise<System>;

const factories: Partial<Record<SystemName, SystemFactory>> = {
  gateway: (url, corpus, o) => gatewaySystem(url, corpus, o.cpuProf, o.gatewayNodeArgs),
  'gateway-ack-only': (url, corpus, o) => gatewaySystem(url, corpus, undefined, o.gatewayNodeArgs, true),
};

/** Lets the peer's module add its factories (bench/peers/lib/sync-engine.ts). */
export function registerSystem(name: SystemName, factory: SystemFactory): void {
  factories[name] = factory;
}

async function runOne(serverUrl: string, corpus: Corpus, truth: Truth, name: SystemName, scenario: Scenario, o: WebhooksOptions): Promise<RunResult> {
  const factory = factories[name];
  if (!factory) throw new Error(`${name}: not available`);
  const bodies = await deliveries(corpus.events, scenario, o.seed);
  const distinct = new Set(bodies.map((b) => (JSON.parse(b) as { id: string }).id)).size;
  const system = await factory(serverUrl, corpus, o);
  try {
    const calls0 = corpus.apiCalls();
    const paths0 = corpus.apiCallsByPath();
    const cpu0 = await system.cpu();
    const self0 = process.cpuUsage();
    // Signed before the clock starts, as Stripe's signing is not either system's work (well within the
    // 300 s tolerance: a run takes seconds).
    const signatures = bodies.map(sign);
    const sender = senderFor(system.url, o);
    const t0 = performance.now();
    const failed = await sendAll(bodies, o.concurrency, (b, i) => sender.post(b, signatures[i]!)).finally(() => sender.close());
    const sent = (performance.now() - t0) / 1000;
    await system.settled(distinct);
    const seconds = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const cpu1 = await system.cpu();
    // CPU per delivery where it went: the receiver, its database, and this process (the senders and the
    // emulator answering re-reads; with an inline peer, the peer too).
    const perDelivery = (ms: number) => (ms / bodies.length).toFixed(3);
    const serverMs = cpu0.server !== null && cpu1.server !== null ? cpu1.server - cpu0.server : null;
    const cpuLine = `CPU per delivery: ${serverMs === null ? 'receiver in this process' : `receiver ${perDelivery(serverMs)} ms`}, PostgreSQL ${perDelivery(cpuDelta(cpu0.database, cpu1.database))} ms, this process ${perDelivery((self.user + self.system) / 1000)} ms`;
    const calls = corpus.apiCalls() - calls0;
    const paths = [...corpus.apiCallsByPath()]
      .map(([p, n]) => [p, n - (paths0.get(p) ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const drift = system.bound ? null : compare(truth, await system.mirror());
    const total = drift ? driftTotal(drift) : { missing: 0, stale: 0, extra: 0 };
    const r: RunResult = {
      system: name,
      scenario,
      deliveries: bodies.length,
      seconds,
      eventsPerSecond: bodies.length / seconds,
      apiCallsPer1000: (calls / bodies.length) * 1000,
      drift: total,
      bound: system.bound,
      line: '',
    };
    const examples = drift ? KINDS.flatMap((k) => drift[k].examples).slice(0, 4) : [];
    r.line =
      `${name.padEnd(22)} ${scenario.padEnd(11)} ${bodies.length} deliveries in ${seconds.toFixed(2)} s (all acknowledged after ${sent.toFixed(2)} s) = ${r.eventsPerSecond.toFixed(0)} events/s` +
      `${failed ? ` (${failed} non-2xx)` : ''}, ${calls} Stripe calls (${r.apiCallsPer1000.toFixed(0)} per 1,000), ` +
      (drift ? `drift m/s/e ${total.missing}/${total.stale}/${total.extra} (${driftLine(drift)})` : `a bound: ${system.bound}`) +
      `\n    ${cpuLine}` +
      (paths.length ? `\n    Stripe calls: ${paths.map(([p, n]) => `${n}× ${p}`).join(', ')}` : '') +
      (examples.length ? `\n    e.g. ${examples.join('; ')}` : '') +
      (system.notes?.() ? `\n    refused: ${system.notes()}` : '');
    return r;
  } finally {
    await system.close();
  }
}

export async function runWebhooks(ctx: BenchContext, o: WebhooksOptions = webhooksOptions(ctx.options)): Promise<BenchRow[]> {
  const peer = './lib/sync-engine.ts';
  if (o.systems.some((s) => s.startsWith('sync-engine'))) await import(peer).catch((err: unknown) => ctx.log(`sync-engine: not available (${(err as Error).message})`));
  const t0 = performance.now();
  const corpus = await recordCorpus({ customers: o.customers, months: o.months, seed: o.seed });
  const handled = corpus.events.filter((e) => !/^(charge|payment_intent|invoiceitem|price|product|billing)\./.test(e.type)).length;
  ctx.log(`corpus: ${corpus.events.length} events (${handled} of customer/subscription/invoice/payment-method/clock types) from ${o.customers} customers, ${o.months} months, seed ${o.seed}, recorded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rows: BenchRow[] = [];
  try {
    const truth = await readTruth(corpus.stripe, idsOf(corpus.events));
    const results: RunResult[] = [];
    for (const scenario of o.scenarios) {
      for (const system of o.systems) {
        if (!factories[system]) continue;
        const r = await runOne(ctx.databaseUrl, corpus, truth, system, scenario, o);
        ctx.log(r.line);
        results.push(r);
      }
    }
    for (const r of results) {
      const peer = results.find((p) => p.scenario === r.scenario && p.system === 'sync-engine-payload');
      if (r.bound) {
        rows.push({
          metric: `${r.system} ${r.scenario}: events/s acknowledged (a bound: worker not started, nothing applied)`,
          value: r.eventsPerSecond,
          unit: 'events/s',
          ...(peer ? { baseline: { name: 'sync-engine payload mode', value: peer.eventsPerSecond, unit: 'events/s' } } : {}),
        });
        continue;
      }
      const reval = results.find((p) => p.scenario === r.scenario && p.system === 'sync-engine-revalidate');
      const isGw = r.system === 'gateway';
      rows.push({
        metric: `${r.system} ${r.scenario}: events/s fully processed`,
        value: r.eventsPerSecond,
        unit: 'events/s',
        ...(isGw && peer ? { baseline: { name: 'sync-engine payload mode', value: peer.eventsPerSecond, unit: 'events/s' }, target: '≥ 1.5× sync-engine payload', met: r.eventsPerSecond >= 1.5 * peer.eventsPerSecond } : {}),
      });
      rows.push({
        metric: `${r.system} ${r.scenario}: Stripe calls per 1,000 deliveries`,
        value: r.apiCallsPer1000,
        unit: 'calls',
        ...(isGw && reval ? { baseline: { name: 'sync-engine revalidating', value: reval.apiCallsPer1000, unit: 'calls' }, target: '< sync-engine revalidating', met: r.apiCallsPer1000 < reval.apiCallsPer1000 } : {}),
      });
      const d = r.drift.missing + r.drift.stale + r.drift.extra;
      rows.push({
        metric: `${r.system} ${r.scenario}: drift missing/stale/extra ${r.drift.missing}/${r.drift.stale}/${r.drift.extra}`,
        value: d,
        unit: 'rows',
        ...(isGw ? { target: '0/0/0', met: d === 0 } : {}),
      });
    }
  } finally {
    await corpus.close();
  }
  return rows;
}

export const webhooksPart: BenchPart = {
  name: 'webhooks',
  description: 'lifecycle corpus replayed to the gateway and sync-engine (payload, revalidating): events/s, Stripe calls per 1,000, drift',
  run: (ctx) => runWebhooks(ctx),
};

runIfMain(import.meta.url, webhooksPart);
