/**
 * The webhook inbox (`webhook_events`): every verified Stripe event is stored here, keyed by its id,
 * before anything acts on it. Storing is idempotent (`on conflict do nothing`), so Stripe's
 * duplicates, redeliveries and the `events.list` reconciliation all converge on one row per event.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type pg from 'pg';
import type Stripe from 'stripe';
import { isHandledEventType } from '../sync/handlers.js';

export type StoreOutcome = 'stored' | 'duplicate' | 'ignored';

const sql = (em: EntityManager) => em as SqlEntityManager;

/** `data.object.id` when the object has one (previews of upcoming invoices do not). */
export function eventObjectId(event: Stripe.Event): string | null {
  const id = (event.data?.object as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : null;
}

/**
 * Stores one event; resolves once the insert is done (committed, unless `em` is in a transaction).
 * Types the gateway does not handle are recorded as `ignored` and never reach a worker. `rawBody`:
 * the verified request body the event was parsed from (stored as is).
 */
export async function storeEvent(em: EntityManager, event: Stripe.Event, rawBody?: string): Promise<StoreOutcome> {
  const handled = isHandledEventType(event.type);
  const params = insertParams(event, handled, rawBody);
  // Outside a transaction on PostgreSQL: the pool directly, with bound parameters. MikroORM would
  // first inline the 2–3 KB payload into the SQL text (quoting it), which the route paid on every request.
  const pool = em.isInTransaction() ? null : await nativePool(em);
  const rows = pool
    ? (await pool.query<{ id: string }>(insertSql(handled, (i) => `$${i}`), params)).rows
    : await sql(em).execute<{ id: string }[]>(insertSql(handled, () => '?'), params);
  if (rows.length === 0) return 'duplicate';
  return handled ? 'stored' : 'ignored';
}

function insertSql(handled: boolean, param: (i: number) => string): string {
  return `insert into "webhook_events" ("id", "type", "api_version", "stripe_created_at", "object_id", "payload", "status", "processed_at")
     values (${param(1)}, ${param(2)}, ${param(3)}, to_timestamp(${param(4)}), ${param(5)}, ${param(6)}::jsonb, ${param(7)}, ${handled ? 'null' : 'now()'})
     on conflict ("id") do nothing
     returning "id"`;
}

function insertParams(event: Stripe.Event, handled: boolean, rawBody?: string): unknown[] {
  return [
    event.id,
    event.type,
    event.api_version ?? null,
    event.created,
    eventObjectId(event),
    // The verified body is that JSON already: no need to serialise the parsed event again.
    rawBody ?? JSON.stringify(event),
    handled ? 'pending' : 'ignored',
  ];
}

const pools = new WeakMap<object, pg.Pool | null>();

/** The `pg` pool behind `em` on PostgreSQL; null elsewhere (PGlite). */
async function nativePool(em: EntityManager): Promise<pg.Pool | null> {
  const connection = em.getConnection() as unknown as { getNativeClient?: () => Promise<unknown> };
  if (pools.has(connection)) return pools.get(connection)!;
  let pool: pg.Pool | null = null;
  if (typeof connection.getNativeClient === 'function') {
    try {
      const client = await connection.getNativeClient();
      // Duck-typed: the driver may bring its own copy of `pg`, so `instanceof pg.Pool` would not hold.
      const c = client as Partial<pg.Pool> | null;
      if (c && typeof c.query === 'function' && typeof c.connect === 'function' && 'totalCount' in c) pool = c as pg.Pool;
    } catch {
      // Not available (a driver that owns its client): the ORM path.
    }
  }
  pools.set(connection, pool);
  return pool;
}

/** A parked event as the admin sees it. */
export interface ParkedEvent {
  id: string;
  type: string;
  objectId: string | null;
  attempts: number;
  lastError: string | null;
  stripeCreatedAt: Date;
  receivedAt: Date;
}

interface ParkedRow {
  id: string;
  type: string;
  object_id: string | null;
  attempts: number;
  last_error: string | null;
  created_epoch: number | string;
  received_epoch: number | string;
}

/** Parked events, newest first (by receipt), for the admin query and the CLI. */
export async function listParkedEvents(em: EntityManager, opts: { limit?: number } = {}): Promise<ParkedEvent[]> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await sql(em).execute<ParkedRow[]>(
    `select "id", "type", "object_id", "attempts", "last_error",
            extract(epoch from "stripe_created_at")::float8 as created_epoch,
            extract(epoch from "received_at")::float8 as received_epoch
       from "webhook_events" where "status" = 'parked'
      order by "received_at" desc, "id" desc limit ?`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    objectId: r.object_id,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    stripeCreatedAt: new Date(Number(r.created_epoch) * 1000),
    receivedAt: new Date(Number(r.received_epoch) * 1000),
  }));
}

/** Puts a parked event back in the queue (attempts reset). Resolves false when no such parked event exists. */
export async function requeueParkedEvent(em: EntityManager, id: string): Promise<boolean> {
  const rows = await sql(em).execute<{ id: string }[]>(
    `update "webhook_events" set "status" = 'pending', "attempts" = 0, "next_attempt_at" = now(), "locked_until" = null
      where "id" = ? and "status" = 'parked' returning "id"`,
    [id],
  );
  return rows.length > 0;
}
