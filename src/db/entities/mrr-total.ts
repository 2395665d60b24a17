import { defineEntity, p } from '@mikro-orm/core';

/** What a row of `mrr_totals` adds to. */
export type MrrTotalKind = 'active' | 'new' | 'churned';

/** Stripe statuses that count toward MRR (the MRR rules: ACTIVE and PAST_DUE). */
export const MRR_COUNTING_STATUSES = ['active', 'past_due'] as const;

/** SQL: whether the status `column` (e.g. `s.status`, `new.status`) counts toward MRR. */
export const countsTowardMrrSql = (column: string) => `${column} in (${MRR_COUNTING_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/**
 * SQL: the buckets of `mrr_totals` one subscription row (`row`: a table alias, or `new` / `old` in a
 * trigger) adds to, as a derived table `b (kind, month, applies)`: 'active' while it counts, 'new' /
 * 'churned' in the UTC month it started / stopped counting. The one definition, used by the trigger
 * (src/db/entities/subscription.ts) and the rebuild (src/billing/metrics/mrr-totals.ts).
 */
export const mrrBucketsSql = (row: string) => `(values ('active', null::date, ${countsTowardMrrSql(`${row}.status`)}),
               ('new', date_trunc('month', ${row}.first_counted_at at time zone 'UTC')::date, ${row}.first_counted_at is not null),
               ('churned', date_trunc('month', ${row}.stopped_counting_at at time zone 'UTC')::date, ${row}.stopped_counting_at is not null)) b (kind, month, applies)`;

/**
 * Incrementally maintained MRR (see src/billing/metrics/mrr-totals.ts). Rows are signed deltas written by
 * the `subscriptions` trigger (insert-only, so concurrent writers never block or lose each other's
 * updates); a total is the sum of its rows, and compaction folds them back to one row per key.
 * Amounts are exact: `numerator / denominator` minor units per month.
 */
export const MrrTotalSchema = defineEntity({
  name: 'MrrTotal',
  tableName: 'mrr_totals',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    /** 'active': counting now (ACTIVE, PAST_DUE); 'new' / 'churned': started / stopped counting in `month`. */
    kind: p.text().$type<MrrTotalKind>(),
    /** First day (UTC) of the month of a 'new' or 'churned' row; null for 'active'. */
    month: p.date().nullable(),
    currency: p.text(),
    /** The catalog plan id, '' for none. */
    planId: p.text(),
    denominator: p.decimal('string').columnType('numeric'),
    numerator: p.decimal('string').columnType('numeric'),
    subscriptions: p.bigint('number'),
  },
  indexes: [{ name: 'mrr_totals_kind_month_index', properties: ['kind', 'month'] }],
});

export class MrrTotal extends MrrTotalSchema.class {}
MrrTotalSchema.setClass(MrrTotal);
