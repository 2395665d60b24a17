/**
 * How far the meter-event flusher is behind: what `/metrics` shows as gauges and the admin
 * `usageFlush` query answers, read the same way (one statement on the unsent partial index). A read of
 * the `usage_records` table alone, so the flusher (src/stripe/meter-events) and billing share it from here.
 */
import type { Em } from './orm.js';

export interface LedgerStats {
  /** Rows waiting to be sent (not parked). */
  backlog: number;
  /** Age in seconds of the oldest of them (0 when none). */
  lagSeconds: number;
  /** Rows parked after permanent rejections. */
  parked: number;
  /** When the oldest of them was recorded (null when none). */
  oldestUnsentAt: Date | null;
}

const STATS_SQL = `select count(*) filter (where "parked_at" is null) as backlog,
        count(*) filter (where "parked_at" is not null) as parked,
        coalesce(extract(epoch from now() - min("created_at") filter (where "parked_at" is null)), 0)::float8 as lag,
        min("created_at") filter (where "parked_at" is null) as oldest
   from "usage_records" where "sent_at" is null`;

type StatsRow = { backlog: number | string; parked: number | string; lag: number | string; oldest: Date | string | null };

/** Backlog, lag and parked rows of the usage ledger. */
export async function readUsageFlushStatus(em: Pick<Em, 'getConnection'>): Promise<LedgerStats> {
  const rows = await em.getConnection().execute<StatsRow[]>(STATS_SQL, [], 'all');
  const r = rows[0]!;
  return {
    backlog: Number(r.backlog),
    parked: Number(r.parked),
    lagSeconds: Math.max(0, Number(r.lag)),
    oldestUnsentAt: r.oldest === null ? null : new Date(r.oldest),
  };
}
