/**
 * Convergence: how one Stripe event is brought into the mirror, whatever order events arrive in.
 *
 * Why not compare event timestamps or ids alone: an event's `created` is whole seconds and event ids
 * are not ordered. "Newer or equal wins" lets a delayed stale copy from the same second overwrite a
 * fresher row; "strictly newer wins" drops a genuine second update made in the same second (the
 * Stripe sync engine's open bug). So each mirrored row remembers `last_event_at` (the `created` of the
 * event it reflects) and, under a per-object lock, an event compares its `created` (t) with it:
 *
 *   - no row yet, or t > last_event_at   → the payload is provably the newest copy seen: apply it.
 *   - t < last_event_at                  → the row already reflects a later state: skip it.
 *   - t = last_event_at (a tie), or the row has no timestamp (written from an API response),
 *     or the event carries no usable copy of the object (checkout.session.completed,
 *     payment_method.*)                 → nothing proves which copy is newest: re-read the object
 *                                          from Stripe and store that.
 *
 * A re-read is taken after the event was emitted, so it reflects at least the event's state (and that
 * of every event processed before it). It is stamped with max(last_event_at, t): an older event that
 * comes later is then skipped, a strictly newer one applied, and another one from the same second
 * triggers one more re-read. Why the result does not depend on order: let T be the newest `created`
 * among the object's events. If one event has it, it is applied whenever it comes (everything stamped
 * before it is older) and nothing after it can replace it; that payload is the object's last state.
 * If several share T, whichever comes second finds a tie and re-reads, and the last of them to be
 * processed re-reads after all were emitted, so the final row is Stripe's current object. Duplicates
 * tie with themselves (a harmless re-read; the inbox already drops exact redeliveries). Intermediate
 * rows may briefly show an older state; the final mirror is the same for in-order, shuffled,
 * duplicated and delayed deliveries.
 *
 * Ties the payload settles: a re-read is only needed when nothing proves which copy is newer. Some
 * changes only go one way, so comparing the event's copy with the row's content (`raw`) proves the
 * order without Stripe (`payloadOrder`): a `*.created` copy is the object's first state (never newer
 * than a row); an identical copy changes nothing; an invoice's status only moves draft → open →
 * uncollectible → paid/void and its `attempt_count` only grows; a canceled subscription and a deleted
 * customer stay so. The same holds for a row without a stamp (an API copy of unknown time), which a
 * proven skip stamps with the event's time, as a re-read would. The
 * argument above holds as before: the row only ever moves to a provably newer copy, and an undecided
 * tie re-reads.
 *
 * Concurrency: `pg_advisory_xact_lock` on the object id serialises events about one object across
 * workers and replicas (the row may not exist yet, so a row lock would not do), and every write is an
 * upsert by the Stripe id, so a checkout completion and `customer.subscription.created` racing each
 * other end in one subscription row.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { isDeepStrictEqual } from 'node:util';

export type MirrorKind = 'customer' | 'subscription' | 'invoice';

export const MIRROR_TABLES: Record<MirrorKind, string> = {
  customer: 'customers',
  subscription: 'subscriptions',
  invoice: 'invoices',
};

/** What to do with an event's copy of an object, given the row's stamp. */
export type ConvergenceDecision = 'apply' | 'skip' | 'reread';

/**
 * The rule above, as a pure function. `rowStamp`: undefined = no row; null = a row without a timestamp.
 * `hasPayload`: the event carries a full copy of the object.
 */
export function decide(eventCreated: Date, rowStamp: Date | null | undefined, hasPayload: boolean): ConvergenceDecision {
  if (rowStamp === undefined) return hasPayload ? 'apply' : 'reread';
  if (rowStamp === null) return 'reread';
  const t = eventCreated.getTime();
  const r = rowStamp.getTime();
  if (t < r) return 'skip';
  if (t > r && hasPayload) return 'apply';
  return 'reread';
}

/** What a batch knows of a row's content: its `raw` as stored, and whether it is marked deleted (customers). */
export interface RowContent {
  raw: unknown;
  deleted: boolean;
}

/** An event's copy against the row's content at a tie: provably newer, older, the same, or unknown (null). */
export type PayloadOrder = 'newer' | 'older' | 'same' | null;

/** Invoice statuses in the only order they move in (paid and void are both final). */
const INVOICE_STATUS_RANK: Record<string, number> = { draft: 0, open: 1, uncollectible: 2, paid: 3, void: 3 };
const FINAL_SUBSCRIPTION_STATUSES = new Set(['canceled', 'incomplete_expired']);

/**
 * Which of two same-second copies of one object is newer, when their content proves it (see above).
 * `payload`: the event's object; `payloadRaw`: it as the writer would store it (null: it would store
 * something else, so identity proves nothing).
 */
export function payloadOrder(kind: MirrorKind, eventType: string, payload: Record<string, unknown>, payloadRaw: unknown, row: RowContent): PayloadOrder {
  if (eventType.endsWith('.created')) return 'older';
  const deleted = eventType === 'customer.deleted';
  if (payloadRaw !== null && deleted === row.deleted && isDeepStrictEqual(payloadRaw, row.raw)) return 'same';
  const current = (row.raw ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 'customer':
      if (deleted !== row.deleted) return deleted ? 'newer' : 'older';
      return null;
    case 'invoice': {
      const a = INVOICE_STATUS_RANK[String(payload.status)];
      const b = INVOICE_STATUS_RANK[String(current.status)];
      if (a === undefined || b === undefined) return null;
      if (a !== b) return a > b ? 'newer' : 'older';
      const x = payload.attempt_count;
      const y = current.attempt_count;
      if (typeof x === 'number' && typeof y === 'number' && x !== y) return x > y ? 'newer' : 'older';
      return null;
    }
    case 'subscription': {
      const a = FINAL_SUBSCRIPTION_STATUSES.has(String(payload.status));
      const b = FINAL_SUBSCRIPTION_STATUSES.has(String(current.status));
      if (a !== b) return a ? 'newer' : 'older';
      return null;
    }
  }
}

/** Serialises work on one Stripe object until the transaction ends (PostgreSQL and PGlite alike). */
export async function lockObject(em: EntityManager, objectId: string): Promise<void> {
  await (em as SqlEntityManager).execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [objectId], 'run');
}

/**
 * `lockObject` for several objects in one statement, in sorted order (the `offset 0` subquery keeps
 * the sort below the lock calls), so two transactions locking overlapping sets cannot deadlock here.
 */
export async function lockObjects(em: EntityManager, objectIds: string[]): Promise<void> {
  const ids = [...new Set(objectIds)].sort();
  if (ids.length === 0) return;
  if (ids.length === 1) return lockObject(em, ids[0]!);
  await (em as SqlEntityManager).execute(
    `select count(pg_advisory_xact_lock(hashtextextended(id, 0))) from (select id from unnest(array[?]::text[]) as u(id) order by id offset 0) s`,
    [ids],
    'run',
  );
}

/** The row's `last_event_at`: undefined when there is no row, null when the row has none. */
export async function rowStamp(em: EntityManager, kind: MirrorKind, id: string): Promise<Date | null | undefined> {
  const rows = await (em as SqlEntityManager).execute<{ t: number | string | null }[]>(
    `select extract(epoch from "last_event_at")::float8 as t from "${MIRROR_TABLES[kind]}" where "id" = ?`,
    [id],
  );
  if (rows.length === 0) return undefined;
  const t = rows[0]!.t;
  return t === null ? null : new Date(Number(t) * 1000);
}

/** The stamp a re-read gets: the later of the row's stamp and the event's time. */
export function rereadStamp(eventCreated: Date, stamp: Date | null | undefined): Date {
  return stamp && stamp.getTime() > eventCreated.getTime() ? stamp : eventCreated;
}
