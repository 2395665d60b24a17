/**
 * The webhook inbox (`webhook_events`): every verified Stripe event is stored here, keyed by its id,
 * before anything acts on it. Storing is idempotent (`on conflict do nothing`), so Stripe's
 * duplicates, redeliveries and the `events.list` reconciliation all converge on one row per event.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type pg from 'pg';
import type Stripe from 'stripe';
import { GroupCommitQueue, ItemFailed } from '../../db/group-commit.js';
import { findUnstorableText, markStorable, toStorableString, toStorableText } from '../../text/storable.js';
import { preparedName } from '../mirror/bound-sql.js';
import { idOf } from '../mirror/common.js';
import { isHandledEventType } from '../sync/handlers.js';

export type StoreOutcome = 'stored' | 'duplicate' | 'ignored';

const sql = (em: EntityManager) => em as SqlEntityManager;

/** `data.object.id` when the object has one (previews of upcoming invoices do not). */
export function eventObjectId(event: Stripe.Event): string | null {
  const id = (event.data?.object as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? toStorableString(id) : null;
}

/** An event to store, with the verified request body it was parsed from (stored as is). */
export interface InboxEntry {
  event: Stripe.Event;
  rawBody?: string;
  /** Whether `rawBody` holds an escape of unstorable text (`MAYBE_UNSTORABLE`), when the caller tested it already. */
  escapes?: boolean;
}

/**
 * Stores one event; resolves once the insert is done (committed, unless `em` is in a transaction).
 * Types the gateway does not handle are recorded as `ignored` (id, type and time only) and never reach
 * a worker. `rawBody`: the verified request body the event was parsed from (stored as is).
 */
export async function storeEvent(em: EntityManager, event: Stripe.Event, rawBody?: string): Promise<StoreOutcome> {
  return (await storeEvents(em, [{ event, rawBody }]))[0]!;
}

/**
 * Stores several events in one statement (one round trip, one commit outside a transaction); one
 * outcome per entry, in order. An id twice in the list is inserted once: its first entry gets
 * `stored`/`ignored`, the others `duplicate`, as if they had come one after the other.
 */
export async function storeEvents(em: EntityManager, entries: InboxEntry[]): Promise<StoreOutcome[]> {
  if (entries.length === 0) return [];
  const unique = new Map<string, InboxEntry>();
  for (const e of entries) if (!unique.has(e.event.id)) unique.set(e.event.id, e);
  const rows = [...unique.values()];
  // Outside a transaction on PostgreSQL: the pool directly, with bound parameters. MikroORM would
  // first inline the 2–3 KB payloads into the SQL text (quoting them), which the route paid on every request.
  const pool = em.isInTransaction() ? null : await nativePool(em);
  const params = rows.flatMap((e) => insertParams(e));
  let inserted: { id: string }[];
  if (pool) {
    const text = insertSql(rows.length, (i) => `$${i}`);
    // Prepared once per connection for each batch size (bound-sql.ts).
    const name = preparedName(em, text, params.length);
    inserted = (await pool.query<{ id: string }>(name ? { name, text, values: params } : { text, values: params })).rows;
  } else inserted = await sql(em).execute<{ id: string }[]>(insertSql(rows.length, () => '?'), params);
  const fresh = new Set(inserted.map((r) => r.id));
  return entries.map((e) => {
    // Only the first entry of an id takes the insert; later ones (and ids already there) are duplicates.
    if (!fresh.delete(e.event.id)) return 'duplicate';
    return isHandledEventType(e.event.type) ? 'stored' : 'ignored';
  });
}

const COLUMNS = 10;

/** `rows` rows of parameters; unhandled types are stored already processed (`processed_at` = now()). */
function insertSql(rows: number, param: (i: number) => string): string {
  const values: string[] = [];
  for (let r = 0; r < rows; r++) {
    const p = (c: number) => param(r * COLUMNS + c);
    values.push(
      `(${p(1)}, ${p(2)}, ${p(3)}, to_timestamp(${p(4)}), ${p(5)}, ${p(6)}::jsonb, ${p(7)}, case when ${p(8)}::boolean then null else now() end, ${p(9)}, hashtext(${p(10)}) & 2147483647)`,
    );
  }
  // Ids already stored are left out before the insert: `on conflict do nothing` alone waits, on the
  // unique index, for a worker's open transaction that is marking that row processed (a redelivery
  // arriving while its event is applied), and the group commit behind it with it. The conflict clause
  // stays for an id another process inserts at the same moment.
  return `insert into "webhook_events" ("id", "type", "api_version", "stripe_created_at", "object_id", "payload", "status", "processed_at", "payload_text", "claim_partition")
     select * from (values ${values.join(',\n            ')})
         as v ("id", "type", "api_version", "stripe_created_at", "object_id", "payload", "status", "processed_at", "payload_text", "claim_partition")
      where not exists (select 1 from "webhook_events" e where e."id" = v."id")
     on conflict ("id") do nothing
     returning "id"`;
}

/**
 * A `\u0000` or surrogate escape in JSON text: the only way U+0000 or a lone surrogate can be in it
 * (JSON.stringify and a UTF-8 decoder leave no raw ones). A match is only a hint (a surrogate pair
 * also matches); the parsed event then says for sure.
 */
const MAYBE_UNSTORABLE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * What an ignored type keeps in the inbox: who it was (id, type, time, object id), not its payload.
 * Nothing ever applies it; a gateway that later handles the type gets it again from `events.list`
 * (the reconciliation) while Stripe retains it. Storing the full 2–3 KB body cost the route and the
 * database a jsonb parse and write per delivery for a quarter of a typical stream.
 */
function ignoredStub(event: Stripe.Event): string {
  const objectId = eventObjectId(event);
  return JSON.stringify({
    id: toStorableString(event.id),
    object: 'event',
    type: toStorableString(event.type),
    api_version: event.api_version == null ? null : toStorableString(event.api_version),
    created: event.created,
    data: { object: objectId === null ? {} : { id: objectId } },
  });
}

function insertParams({ event, rawBody, escapes }: InboxEntry): unknown[] {
  const handled = isHandledEventType(event.type);
  if (!handled) return [event.id, event.type, event.api_version ?? null, event.created, eventObjectId(event), ignoredStub(event), 'ignored', false, null, claimKey(event)];
  // The verified body is that JSON already: no need to serialise the parsed event again.
  const text = rawBody ?? JSON.stringify(event);
  // jsonb refuses `\u0000` and lone surrogates: such an event is stored twice, exactly as received
  // (`payload_text`, lossless) and with them replaced by U+FFFD (`payload`, what the workers apply).
  const lossy = (escapes ?? MAYBE_UNSTORABLE.test(text)) && findUnstorableText(event) !== null;
  return [
    event.id,
    event.type,
    event.api_version ?? null,
    event.created,
    eventObjectId(event),
    lossy ? JSON.stringify(toStorableText(event)) : text,
    'pending',
    true,
    lossy ? text : null,
    claimKey(event),
  ];
}

/**
 * What the worker's loops partition the inbox by (`claim_partition`, its hash): the event's customer,
 * so one loop takes a customer's invoices, subscriptions and payment methods together; else its
 * object; else the event itself.
 */
function claimKey(event: Stripe.Event): string {
  const customer = idOf((event.data?.object as { customer?: unknown } | undefined)?.customer);
  return toStorableString(customer ?? eventObjectId(event) ?? event.id);
}

const queues = new WeakMap<object, GroupCommitQueue<InboxEntry, StoreOutcome>>();

/**
 * Rows and bytes per inbox statement (Stripe events are a few KB; the body limit bounds one alone), and
 * one statement at a time: deliveries arriving meanwhile wait for it and share the next. With four in
 * flight, 16 concurrent deliveries went about two to a statement; one at a time, about eight, so a
 * quarter of the round trips and commits for the same deliveries, and less of PostgreSQL's CPU per
 * delivery (bench `peers`, webhooks).
 */
const INBOX_BATCH = { maxBatch: 256, maxBatchBytes: 4 * 1024 * 1024, maxInFlight: 1 };

/**
 * Stores one event through the database's group-commit queue (one queue per database): deliveries
 * that arrive together share one insert and one commit, and each resolves only after that commit.
 * A batch that fails is retried entry by entry, so one bad event (e.g. a payload PostgreSQL's jsonb
 * refuses) fails alone.
 */
export async function queueStoreEvent(em: EntityManager, event: Stripe.Event, rawBody?: string): Promise<StoreOutcome> {
  // Tested once, for the insert and for what follows it (an ignored type's body is never stored).
  const escapes = rawBody === undefined || !isHandledEventType(event.type) ? undefined : MAYBE_UNSTORABLE.test(rawBody);
  const outcome = await inboxQueue(em).submit({ event, rawBody, ...(escapes === undefined ? {} : { escapes }) });
  // Stored exactly as received (no text replaced for jsonb): the worker may take this copy, whose text
  // needs no check (parsed from a body without the escapes of unstorable text).
  if (outcome === 'stored' && escapes === false) {
    if (event.data?.object) markStorable(event.data.object);
    remember(em, event);
  }
  return outcome;
}

/**
 * Events this process stored and no worker of it has claimed yet, per database: the worker takes the
 * parsed event from here instead of reading its payload back (PostgreSQL's jsonb output and a second
 * parse of a 2–3 KB body per event). Bounded, oldest dropped first; what is not here (another
 * process's insert, a retry, an overflow) is read from the inbox as before. Events are immutable by id.
 */
const recent = new WeakMap<object, Map<string, Stripe.Event>>();
const RECENT_MAX = 8192;

function remember(em: EntityManager, event: Stripe.Event): void {
  const owner = em.getDriver();
  let map = recent.get(owner);
  if (!map) recent.set(owner, (map = new Map()));
  map.set(event.id, event);
  if (map.size > RECENT_MAX) map.delete(map.keys().next().value!);
}

/** Takes the remembered events among `ids` (each is handed out once). */
export function takeStoredEvents(em: EntityManager, ids: readonly string[]): Map<string, Stripe.Event> {
  const map = recent.get(em.getDriver());
  const out = new Map<string, Stripe.Event>();
  if (!map) return out;
  for (const id of ids) {
    const event = map.get(id);
    if (event) {
      out.set(id, event);
      map.delete(id);
    }
  }
  return out;
}

/**
 * True while deliveries wait behind the inbox statements in flight: ingestion is saturated (the
 * worker then gives way, `WebhookWorkerOptions.deferWhile`). False at ordinary rates.
 */
export function inboxSaturated(em: EntityManager): boolean {
  return (queues.get(em.getDriver())?.waiting ?? 0) > 0;
}

function inboxQueue(em: EntityManager): GroupCommitQueue<InboxEntry, StoreOutcome> {
  const owner = em.getDriver();
  let queue = queues.get(owner);
  if (!queue) {
    const own = em.fork();
    queue = new GroupCommitQueue<InboxEntry, StoreOutcome>(
      async (batch) => {
        try {
          return await storeEvents(own, batch);
        } catch (err) {
          if (batch.length === 1) throw err;
          return Promise.all(batch.map((e) => storeEvents(own, [e]).then(([o]) => o!, (error: unknown) => new ItemFailed(error))));
        }
      },
      { ...INBOX_BATCH, sizeOf: (e) => e.rawBody?.length ?? 4096 },
    );
    queues.set(owner, queue);
  }
  return queue;
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
