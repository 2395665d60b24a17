/**
 * Rebuilding `mrr_totals` from the stored MRR columns of `subscriptions`, where the triggers that keep
 * it (./entities/subscription.ts) were bypassed: the table's own upkeep, beside its triggers, so the
 * full sync can repair it without reaching up into billing (src/billing/metrics/mrr-totals.ts reads it).
 */
import type { EntityManager } from '@mikro-orm/core';
import { mrrBucketsSql } from './entities/mrr-total.js';
import { queryRows, rebuildLocked } from './sql.js';

/** The totals as the stored columns of `subscriptions` give them: one row per key (kind, month, currency, plan, denominator). */
export const MRR_TOTALS_FROM_SUBSCRIPTIONS_SQL = `select b.kind, b.month, lower(s.currency), coalesce(s.plan_id, ''), coalesce(s.mrr_denominator, 1), sum(coalesce(s.mrr_numerator, 0)), count(*)
from subscriptions s
cross join lateral ${mrrBucketsSql('s')}
where b.applies
group by 1, 2, 3, 4, 5`;

/**
 * The rebuild's statement. Migration20261122014000_mrr seeds the totals with a hand copy of it
 * (migrations import no app code): keep the two identical.
 */
export const REBUILD_MRR_TOTALS_SQL = `insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
${MRR_TOTALS_FROM_SUBSCRIPTIONS_SQL}`;

/**
 * Whether the totals, every kind and month, sum to what the rebuild would write (keys whose deltas
 * cancel out are no rows, as after a compaction). Reads `subscriptions` in full: for repair, not per event.
 */
export async function mrrTotalsMatchRebuild(em: EntityManager): Promise<boolean> {
  const rows = await queryRows<{ n: string | number }>(
    em,
    `with kept as (
       select kind, month, currency, plan_id, denominator, sum(numerator) as numerator, sum(subscriptions) as subscriptions
       from mrr_totals group by 1, 2, 3, 4, 5
       having sum(numerator) <> 0 or sum(subscriptions) <> 0),
     rebuilt (kind, month, currency, plan_id, denominator, numerator, subscriptions) as (${MRR_TOTALS_FROM_SUBSCRIPTIONS_SQL})
     select count(*) as n from ((select * from kept except all select * from rebuilt)
                                union all (select * from rebuilt except all select * from kept)) differing`,
  );
  return Number(rows[0]?.n ?? 0) === 0;
}

/**
 * Rebuilds the totals from the `subscriptions` rows (repair: `sync --full`, or after loading rows with
 * triggers off, as the bench does), locked against writers' deltas (`rebuildLocked`).
 */
export function rebuildMrrTotals(em: EntityManager): Promise<void> {
  return rebuildLocked(em, 'mrr_totals', REBUILD_MRR_TOTALS_SQL);
}

/**
 * Checks the incremental totals against what the rebuild would write from the stored MRR columns of
 * `subscriptions`, and rebuilds them when they differ (`sync --full` runs it after repairing rows).
 * Returns whether a rebuild was needed. It compares what a rebuild can repair: a stored column that is
 * itself wrong is the mirror's to fix (the full sync rewrites the rows first); `fullRecountMrr`, from
 * the items, checks those columns in tests and the bench.
 */
export async function repairMrrTotals(em: EntityManager): Promise<boolean> {
  if (await mrrTotalsMatchRebuild(em)) return false;
  await rebuildMrrTotals(em);
  return true;
}
