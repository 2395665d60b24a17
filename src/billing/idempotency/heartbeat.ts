/**
 * Keeps a claim row alive while its holder works: the row's `updated_at` (idempotency keys) or
 * `expires_at` (leases) is pushed forward every `everyMs`, so a row that stops moving belongs to a
 * process that died, and the next caller takes it over within a few seconds instead of minutes.
 * A failed beat is only logged: the work goes on, and the worst case is a takeover that the derived
 * Stripe idempotency keys make harmless (Stripe answers the same objects again).
 */
import type { EntityManager } from '@mikro-orm/core';
import { logger } from '../../log.js';

export const HEARTBEAT_MS = 1_000;

/** Runs `fn` while `beat` (one SQL statement) runs every `everyMs`. */
export async function withHeartbeat<T>(em: EntityManager, beat: { sql: string; params: unknown[] }, fn: () => Promise<T>, everyMs = HEARTBEAT_MS): Promise<T> {
  const conn = em.getConnection();
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return; // a slow database: never pile beats up
    running = conn
      .execute(beat.sql, beat.params, 'run')
      .then(
        () => undefined,
        (err: unknown) => logger.warn({ err: (err as Error).message }, 'could not renew a claim'),
      )
      .finally(() => {
        running = null;
      });
  }, everyMs);
  timer.unref();
  try {
    return await fn();
  } finally {
    // A beat still in flight is not awaited (it may wait on a lock): it only touches a row still claimed.
    clearInterval(timer);
  }
}
