/**
 * Shared pieces of the webhook tests: an emulator with the catalog synced, a test database with the
 * catalog mirrored, the webhook route on a real HTTP server, and a worker (not started unless asked).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type Stripe from 'stripe';
import { afterAll, beforeAll } from 'vitest';
import { loadCatalog, meteredLookupKey, type Catalog } from '../../src/catalog.js';
import type { Orm } from '../../src/db/orm.js';
import { seededRandom, shuffle, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { mountStripeWebhook, stripeWebhookFastPath } from '../../src/stripe/webhooks/route.js';
import { WebhookWorker, type WebhookWorkerOptions } from '../../src/stripe/webhooks/worker.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { emulatorWithClient } from '../support/emulator.js';

export const SECRET = 'whsec_webhooktestsecret0123456789';

export interface StripeSide {
  emu: RunningEmulator;
  stripe: Stripe;
  catalog: Catalog;
  catalogReport: Awaited<ReturnType<typeof syncCatalog>>;
  close(): Promise<void>;
}

/** The emulator over HTTP with the default catalog synced to it. */
export async function stripeSide(): Promise<StripeSide> {
  const { emu, stripe } = await emulatorWithClient({ webhookRetry: { maxAttempts: 1 } });
  const catalog = loadCatalog();
  const catalogReport = await syncCatalog(stripe, catalog);
  return { emu, stripe, catalog, catalogReport, close: () => emu.close() };
}

export interface Gateway {
  db: TestOrm;
  orm: Orm;
  worker: WebhookWorker;
  url: string;
  /** Posts a body with the given Stripe-Signature (none when undefined). */
  post(body: string, signature?: string): Promise<{ status: number; json: unknown }>;
  /** Signs (now, or at `timestamp`) and posts an event. */
  deliver(event: Stripe.Event | string, opts?: { timestamp?: number; secret?: string }): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

/**
 * The Stripe side and a webhook gateway (route + worker) for the calling file's tests, started before
 * them and closed after; its fields are set once they start.
 */
export function webhookGatewayForFile(workerOpts: Partial<WebhookWorkerOptions> = {}): { side: StripeSide; gw: Gateway } {
  const started = {} as { side: StripeSide; gw: Gateway };
  beforeAll(async () => {
    started.side = await stripeSide();
    started.gw = await gateway(started.side, workerOpts);
  });
  afterAll(async () => {
    await started.gw?.close();
    await started.side?.close();
  });
  return started;
}

/** A fresh database with the catalog mirrored, the route on a free port, and a worker (not started). */
export async function gateway(side: StripeSide, workerOpts: Partial<WebhookWorkerOptions> = {}): Promise<Gateway> {
  const db = await createTestOrm();
  const orm = db.orm;
  await mirrorCatalog(orm.em.fork(), side.catalogReport);
  const worker = new WebhookWorker({ orm, stripe: side.stripe, catalog: side.catalog, pollIntervalMs: 50, retryBaseMs: 10, ...workerOpts });
  // As the gateway serves it: ahead of express for a POST to exactly the path, the mounted route otherwise.
  const route = { orm, stripe: side.stripe, webhookSecret: SECRET, onStored: () => worker.notify() };
  const app = express();
  mountStripeWebhook(app, route);
  const fast = stripeWebhookFastPath(route);
  const server: Server = createServer((req, res) => {
    if (!fast(req, res)) app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  const post = async (body: string, signature?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(signature !== undefined ? { 'stripe-signature': signature } : {}) },
      body,
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  };
  return {
    db,
    orm,
    worker,
    url,
    post,
    deliver(event, opts = {}) {
      const payload = typeof event === 'string' ? event : JSON.stringify(event);
      const signature = side.stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? SECRET, timestamp: opts.timestamp });
      return post(payload, signature);
    },
    async close() {
      await worker.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.dispose();
    },
  };
}

/** The price of a catalog plan (by lookup key) in the emulator. */
export async function planPrice(stripe: Stripe, planId: string): Promise<Stripe.Price> {
  const list = await stripe.prices.list({ lookup_keys: [planId] });
  const price = list.data[0];
  if (!price) throw new Error(`no price with lookup key ${planId}`);
  return price;
}

export { meteredLookupKey };

/** Every event the emulator stored, oldest first. */
export async function allEvents(stripe: Stripe): Promise<Stripe.Event[]> {
  const out: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100 })) out.push(e);
  return out.reverse();
}

export const MIRROR_TABLES = ['customers', 'subscriptions', 'subscription_items', 'invoices', 'invoice_lines'] as const;

/** The mirror tables as plain JSON rows ordered by id, without the columns that record when a row was written. */
export async function mirrorSnapshot(orm: Orm, opts: { withLastEventAt?: boolean } = {}): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of MIRROR_TABLES) {
    const rows = await orm.em.getConnection().execute<Record<string, unknown>[]>(`select * from "${table}" order by "id"`);
    out[table] = rows.map((r) => {
      const { synced_at: _s, last_event_at, ...rest } = r;
      return JSON.parse(JSON.stringify(opts.withLastEventAt ? { ...rest, last_event_at } : rest));
    });
  }
  return out;
}

// The emulator's seeded PRNG and shuffle: the same reproducible chaos the emulator itself uses.
export { seededRandom as seeded, shuffle as shuffled } from '@billing-gateway/stripe-emulator';

/**
 * A delivery as chaotic as Stripe's may be, reproducible by `seed`: `events` shuffled, about half of them
 * delivered twice in a row, then about a third delivered again later, shuffled once more.
 */
export function withDuplicatesAndReplays<T>(events: T[], seed: number): T[] {
  const random = seededRandom(seed);
  const list: T[] = [];
  for (const e of shuffle(events, random)) {
    list.push(e);
    if (random() < 0.5) list.push(e);
  }
  list.push(...shuffle(events.filter(() => random() < 0.33), random));
  return list;
}

export const DAY = 86_400;

/** A Stripe event built by hand (unique id), for posting to the route or inserting into the inbox directly. */
export function fakeEvent(type: string, object: Record<string, unknown>, created = Math.floor(Date.now() / 1000)): Stripe.Event {
  return {
    id: `evt_test_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  } as unknown as Stripe.Event;
}
