import { defineEntity, p } from '@mikro-orm/core';

/** What a row of `mrr_totals` adds to. */
export type MrrTotalKind = 'active' | 'new' | 'churned';

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
