/**
 * A short exclusive lease on a name, shared by every replica through the database (a row of
 * `idempotency_keys` under the scope `$lease`, so no table of its own). It serialises work that must not
 * run twice at once, e.g. creating a customer's subscription to a product; a holder that crashed loses it
 * when it expires. No transaction is held open while the work (Stripe calls) runs.
 */
import type { EntityManager } from '@mikro-orm/core';
import { conflict } from '../../errors.js';

const LEASE_SCOPE = '$lease';
const LEASE_MS = 2 * 60 * 1000;

/** Runs `fn` holding the lease `name`; someone else holding it → CONFLICT with `busyMessage`. */
export async function withLease<T>(em: EntityManager, name: string, busyMessage: string, fn: () => Promise<T>, ttlMs = LEASE_MS): Promise<T> {
  const conn = em.getConnection();
  const got = await conn.execute<{ key: string }[]>(
    `insert into "idempotency_keys" ("scope", "key", "operation", "request_hash", "status", "response", "created_at", "updated_at", "expires_at")
     values (?, ?, 'lease', '', 'in_progress', null, now(), now(), now() + (? * interval '1 millisecond'))
     on conflict ("scope", "key") do update set "updated_at" = now(), "expires_at" = excluded."expires_at"
       where "idempotency_keys"."expires_at" < now()
     returning "key"`,
    [LEASE_SCOPE, name, ttlMs],
    'all',
  );
  if (got.length === 0) throw conflict(busyMessage);
  try {
    return await fn();
  } finally {
    await conn.execute(`delete from "idempotency_keys" where "scope" = ? and "key" = ?`, [LEASE_SCOPE, name]);
  }
}
