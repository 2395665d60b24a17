/**
 * @supabase/stripe-sync-engine 0.48.5 (bench-only dev dependency) as a webhook receiver, configured by
 * ./sync-engine-client.mjs (its CommonJS build, its Stripe client on the emulator), migrated on a fresh
 * database, `processWebhook(body, signature)` behind a plain node:http server (it processes inside the
 * request, so the 2xx means processed). Payload mode: the webhook's copy is upserted (its
 * timestamp guard keeps the first of two same-second copies). Revalidating mode: every customer,
 * subscription and invoice event re-fetches the object from Stripe.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchDatabase } from '../../lib/db.ts';
import type { Kind } from './drift.ts';
import { fieldsOf, KINDS } from './drift.ts';
import type { Corpus } from './corpus.ts';
import { registerSystem, systemCpu, type WebhooksOptions } from '../webhooks.ts';
import { engine, peerSync as clientOf } from './sync-engine-client.mjs';

const SECRET = 'whsec_bench_0123456789abcdef';

/** A fresh database with sync-engine's schema. */
export async function peerDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await createBenchDatabase(serverUrl, 'peers_se', { migrate: false });
  await engine.runMigrations({ schema: 'stripe', databaseUrl: db.url });
  return db;
}

/** A StripeSync on `databaseUrl` whose Stripe is the emulator at `apiBase` (./sync-engine-client.mjs), with the bench's webhook secret. */
export function peerSync(databaseUrl: string, apiBase: string, revalidate: boolean): InstanceType<typeof engine.StripeSync> {
  return clientOf(databaseUrl, apiBase, revalidate, SECRET);
}

/** The peer's mirror rows, as the drift comparison wants them. */
export async function peerMirror(client: pg.Client): Promise<Record<Kind, Map<string, Record<string, unknown> | null>>> {
  const out = {} as Record<Kind, Map<string, Record<string, unknown> | null>>;
  const queries: Record<Kind, string> = {
    customer: `select id, email, name, deleted from stripe.customers`,
    subscription: `select id, status::text as status, cancel_at_period_end, items from stripe.subscriptions`,
    invoice: `select id, status::text as status, amount_due::float8 as amount_due, amount_paid::float8 as amount_paid, total::float8 as total from stripe.invoices`,
  };
  for (const kind of KINDS) {
    const rows = await client.query<Record<string, unknown> & { id: string }>(queries[kind]);
    out[kind] = new Map(rows.rows.map((r) => [r.id, fieldsOf(kind, r)]));
  }
  return out;
}

/** sync-engine's `processWebhook` behind a plain node:http server; `notes()`: its refusals, grouped by reason. */
export async function serveSyncEngine(sync: InstanceType<typeof engine.StripeSync>): Promise<{ url: string; notes(): string; close(): Promise<void> }> {
  const errors = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') return void res.writeHead(200).end(JSON.stringify([...errors]));
      sync.processWebhook(Buffer.concat(chunks), req.headers['stripe-signature'] as string | undefined).then(
        () => res.writeHead(200).end('{"received":true}'),
        (err: unknown) => {
          // Ids replaced, so refusals group by reason.
          const reason = String((err as Error).message ?? err).replace(/'[^']*'/g, "'…'").slice(0, 120);
          errors.set(reason, (errors.get(reason) ?? 0) + 1);
          res.writeHead(400).end(JSON.stringify({ error: reason }));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    notes: () => [...errors].map(([r, n]) => `${n}× ${r}`).join('; '),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The peer in a child process of its own (`--peer-process child`, ./sync-engine-server.ts), as the
 * gateway is: the same hops per delivery (bench → HTTP → another process → PostgreSQL) and its own
 * share of the scheduler, instead of sharing the bench's process and event loop with the senders.
 */
async function childServer(databaseUrl: string, apiBase: string, revalidate: boolean): Promise<{ url: string; pid: number | undefined; notes(): Promise<string>; close(): Promise<void> }> {
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', fileURLToPath(new URL('./sync-engine-server.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH ?? '', PEER_DATABASE_URL: databaseUrl, PEER_API_BASE: apiBase, PEER_REVALIDATE: revalidate ? '1' : '' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sync-engine child exited (${code}) before listening`)));
  });
  return {
    url,
    pid: child.pid,
    async notes() {
      const errors = (await (await fetch(url)).json()) as [string, number][];
      return errors.map(([r, n]) => `${n}× ${r}`).join('; ');
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function syncEngineSystem(serverUrl: string, corpus: Corpus, revalidate: boolean, o: WebhooksOptions) {
  const db = await peerDatabase(serverUrl);
  let server: { url: string; pid?: number | undefined; notes(): string | Promise<string>; close(): Promise<void> };
  let sync: InstanceType<typeof engine.StripeSync> | null = null;
  if (o.peerProcess === 'child') server = await childServer(db.url, corpus.apiBase, revalidate);
  else {
    sync = peerSync(db.url, corpus.apiBase, revalidate);
    // The database is dropped WITH (FORCE) at the end: a connection the pool is still opening then gets
    // "terminating connection due to administrator command", which must not crash the bench.
    (sync as unknown as { postgresClient: { pool: pg.Pool } }).postgresClient.pool.on('error', () => {});
    server = await serveSyncEngine(sync);
  }
  const { url } = server;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  let notes = '';
  return {
    url,
    settled: async () => {
      notes = await server.notes();
    },
    /** The refusals, grouped by reason (for the log). */
    notes: () => notes,
    mirror: () => peerMirror(client),
    cpu: () => systemCpu(server.pid, client, new URL(db.url).pathname.slice(1)),
    async close() {
      await client.end();
      await server.close();
      await sync?.close();
      await db.drop();
    },
  };
}

registerSystem('sync-engine-payload', (url, corpus, o: WebhooksOptions) => syncEngineSystem(url, corpus, false, o));
registerSystem('sync-engine-revalidate', (url, corpus, o: WebhooksOptions) => syncEngineSystem(url, corpus, true, o));
