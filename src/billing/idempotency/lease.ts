/**
 * A short exclusive lease on a name, shared by every replica through the database (a row of
 * `idempotency_keys` under the scope `$lease`, so no table of its own). It serialises work that must not
 * run twice at once, e.g. creating a customer's subscription to a product. No transaction is held open
 * while the work (Stripe calls) runs: the holder renews the lease every second instead, so a holder that
 * crashed loses it a few seconds later. A holder named `holder` (an idempotent request's tag) may take
 * back the lease its own earlier, dead attempt still holds.
 */
import type { EntityManager } from '@mikro-orm/core';
import { conflict } from '../../errors.js';
import { withHeartbeat } from './heartbeat.js';

const LEASE_SCOPE = '$lease';
const LEASE_MS = 5_000;

export interface LeaseOptions {
  ttlMs?: number;
  /** Who takes the lease; the same holder takes it again while it is still held (its earlier attempt died). */
  holder?: string;
}

/** Runs `fn` holding the lease `name`; someone else holding it → CONFLICT with `busyMessage`. */
export async function withLease<T>(em: EntityManager, name: string, busyMessage: string, fn: () => Promise<T>, opts: LeaseOptions = {}): Promise<T> {
  const conn = em.getConnection();
  const ttlMs = opts.ttlMs ?? LEASE_MS;
  const holder = opts.holder ?? '';
  const got = await conn.execute<{ key: string }[]>(
    `insert into "idempotency_keys" ("scope", "key", "operation", "request_hash", "status", "response", "created_at", "updated_at", "expires_at")
     values (?, ?, 'lease', ?, 'in_progress', null, now(), now(), now() + (? * interval '1 millisecond'))
     on conflict ("scope", "key") do update set "request_hash" = excluded."request_hash", "updated_at" = now(), "expires_at" = excluded."expires_at"
       where "idempotency_keys"."expires_at" < now() or (excluded."request_hash" <> '' and "idempotency_keys"."request_hash" = excluded."request_hash")
     returning "key"`,
    [LEASE_SCOPE, name, holder, ttlMs],
    'all',
  );
  if (got.length === 0) throw conflict(busyMessage);
  const beat = {
    sql: `update "idempotency_keys" set "updated_at" = now(), "expires_at" = now() + (? * interval '1 millisecond')
          where "scope" = ? and "key" = ? and "request_hash" = ?`,
    params: [ttlMs, LEASE_SCOPE, name, holder],
  };
  try {
    return await withHeartbeat(em, beat, fn);
  } finally {
    await conn.execute(`delete from "idempotency_keys" where "scope" = ? and "key" = ? and "request_hash" = ?`, [LEASE_SCOPE, name, holder]);
  }
}
