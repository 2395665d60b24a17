/**
 * Parked usage: ledger rows Stripe rejected `maxAttempts` times (4xx other than 429, e.g. a timestamp
 * older than Stripe's 35 days). They stay in the ledger (Customer.usage still counts them) but leave
 * the send queue. An operator lists them (here, the `usage_meter_events_parked` gauge, or SQL:
 * `select * from usage_records where parked_at is not null`), fixes the cause, and requeues them.
 */
import type { Orm } from '../../db/orm.js';

export interface ParkedUsageRecord {
  id: string;
  customerId: string;
  meter: string;
  quantity: number;
  timestamp: Date;
  sendAttempts: number;
  lastError: string | null;
  parkedAt: Date;
}

/** Parked rows, most recently parked first. */
export async function listParkedUsage(orm: Orm, limit = 100): Promise<ParkedUsageRecord[]> {
  const rows = await orm.em.getConnection().execute<
    { id: string; customer_id: string; meter: string; quantity: number; timestamp: Date | string; send_attempts: number; last_error: string | null; parked_at: Date | string }[]
  >(
    `select "id", "customer_id", "meter", "quantity", "timestamp", "send_attempts", "last_error", "parked_at"
       from "usage_records" where "sent_at" is null and "parked_at" is not null
      order by "parked_at" desc, "id" limit ?`,
    [Math.max(1, Math.min(limit, 10_000))],
    'all',
  );
  return rows.map((r) => ({
    id: r.id,
    customerId: r.customer_id,
    meter: r.meter,
    quantity: Number(r.quantity),
    timestamp: new Date(r.timestamp),
    sendAttempts: Number(r.send_attempts),
    lastError: r.last_error,
    parkedAt: new Date(r.parked_at),
  }));
}

/** Puts parked rows (these ids, or all) back in the queue with a fresh attempt count; returns how many. */
export async function requeueParkedUsage(orm: Orm, ids?: readonly string[]): Promise<number> {
  if (ids && ids.length === 0) return 0;
  const res = await orm.em.getConnection().execute<{ affectedRows: number }>(
    `update "usage_records" set "parked_at" = null, "next_attempt_at" = null, "send_attempts" = 0
      where "sent_at" is null and "parked_at" is not null${ids ? ` and "id" in (?)` : ''}`,
    ids ? [ids] : [],
    'run',
  );
  return res.affectedRows;
}
