/**
 * @supabase/stripe-sync-engine 0.48.5 (bench-only dev dependency) as a webhook receiver: its CommonJS
 * build (the ESM `runMigrations` migrates nothing: it uses `__dirname`), migrated on a fresh database,
 * `processWebhook(body, signature)` behind a plain node:http server (it processes inside the request,
 * so the 2xx means processed), its Stripe client replaced by one pointed at the emulator (it has no
 * host option; `sync.stripe` is a public field). Payload mode: the webhook's copy is upserted (its
 * timestamp guard keeps the first of two same-second copies). Revalidating mode: every customer,
 * subscription and invoice event re-fetches the object from Stripe.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import Stripe from 'stripe';
import { createBenchDatabase } from '../../lib/db.ts';
import type { Kind } from './drift.ts';
import { fieldsOf, KINDS } from './drift.ts';
import type { Corpus } from './corpus.ts';
import { registerSystem, type WebhooksOptions } from '../webhooks.ts';

const require = createRequire(import.meta.url);
const engine = require('@supabase/stripe-sync-engine') as typeof import('@supabase/stripe-sync-engine');

const SECRET = 'whsec_bench_0123456789abcdef';
const signer = new Stripe('sk_test_signer');

/** A fresh database with sync-engine's schema. */
export async function peerDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await createBenchDatabase(serverUrl, 'peers_se', { migrate: false });
  await engine.runMigrations({ schema: 'stripe', databaseUrl: db.url });
  return db;
}

/** A StripeSync on `databaseUrl` whose Stripe is the emulator at `apiBase`. */
export function peerSync(databaseUrl: string, apiBase: string, revalidate: boolean): InstanceType<typeof engine.StripeSync> {
  const sync = new engine.StripeSync({
    databaseUrl,
    stripeSecretKey: 'sk_test_bench',
    stripeWebhookSecret: SECRET,
    stripeApiVersion: Stripe.API_VERSION,
    backfillRelatedEntities: false,
    poolConfig: { max: 16 },
    ...(revalidate ? { revalidateObjectsViaStripeApi: ['customer', 'subscription', 'invoice'] } : {}),
  });
  const url = new URL(apiBase);
  (sync as unknown as { stripe: Stripe }).stripe = new Stripe('sk_test_bench', {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    apiVersion: Stripe.API_VERSION,
    maxNetworkRetries: 2,
  });
  return sync;
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

async function syncEngineSystem(serverUrl: string, corpus: Corpus, revalidate: boolean) {
  const db = await peerDatabase(serverUrl);
  const sync = peerSync(db.url, corpus.apiBase, revalidate);
  // The database is dropped WITH (FORCE) at the end: a connection the pool is still opening then gets
  // "terminating connection due to administrator command", which must not crash the bench.
  (sync as unknown as { postgresClient: { pool: pg.Pool } }).postgresClient.pool.on('error', () => {});
  const errors = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
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
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  return {
    async send(body: string) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    settled: async () => {},
    /** The refusals, grouped by reason (for the log). */
    notes: () => [...errors].map(([r, n]) => `${n}× ${r}`).join('; '),
    mirror: () => peerMirror(client),
    async close() {
      await client.end();
      await new Promise<void>((r) => server.close(() => r()));
      await sync.close();
      await db.drop();
    },
  };
}

registerSystem('sync-engine-payload', (url, corpus, _o: WebhooksOptions) => syncEngineSystem(url, corpus, false));
registerSystem('sync-engine-revalidate', (url, corpus, _o: WebhooksOptions) => syncEngineSystem(url, corpus, true));
