/**
 * MRR from `mrr_totals`, the incrementally maintained totals (no scan of `subscriptions`).
 *
 * How they are kept: every subscription row stores its exact MRR as `mrr_numerator / mrr_denominator`
 * (src/mrr/stored.ts, written by the mirror). Triggers on `subscriptions`
 * (src/db/entities/subscription.ts) insert signed delta rows into `mrr_totals` in the same transaction
 * as any write, so no write path can forget them: old contribution out, new one in, keyed by kind
 * ('active' while ACTIVE or PAST_DUE; 'new' / 'churned' per UTC month), currency, plan and denominator.
 * Writers only insert, so concurrent writers never block or overwrite each other (no lost update, no
 * lock order to get wrong). A total is the sum of its rows; `compactMrrTotals` folds them back to one
 * row per key now and then. Reading is therefore a few dozen rows, and the exact sum is rounded half-up
 * once per currency here, as the MRR rules ask.
 *
 * Why a trigger rather than deltas in application code: the deltas must follow the row exactly
 * (old and new version, deletes, raw SQL, a bench's COPY), and PostgreSQL and PGlite both run
 * PL/pgSQL triggers, so there is one mechanism for both.
 *
 * This month's new, churned and net new MRR come from the revenue history (./revenue.ts: the customers'
 * MRR movements, dated on their clocks), so they are the figures of the month's `revenue` point. The
 * 'new' / 'churned' rows of `mrr_totals` (per subscription: the month it started / stopped counting)
 * are still kept by the trigger and checked by the rebuild (src/db/mrr-totals.ts, which the migration
 * that seeds the totals copies by hand).
 */
import type { EntityManager } from '@mikro-orm/core';
import { fraction, roundHalfUp, sumExact, type Fraction } from '../../mrr/index.js';
import type { CurrencyMrr, MrrSnapshot, PlanMrr } from './mrr-snapshot.js';
import { monthMovements, type MrrMovements } from './revenue.js';
import { queryRows } from '../../db/sql.js';

export interface MrrTotalsRead {
  snapshot: MrrSnapshot;
  movements: MrrMovements;
  /** Rows read: a hint for compaction. */
  rows: number;
}

/** One row of `ACTIVE_TOTALS_SQL`: a key's sum. */
export interface ActiveTotalRow {
  currency: string;
  plan_id: string | null;
  denominator: string;
  numerator: string;
  n: string | number;
  /** Delta rows summed into this one. */
  r: string | number;
}

/** The 'active' totals, one row per currency, plan and denominator (`ActiveTotalRow`). */
export const ACTIVE_TOTALS_SQL = `select currency, plan_id, denominator::text as denominator, sum(numerator)::text as numerator, sum(subscriptions)::text as n, count(*)::text as r
     from mrr_totals where kind = 'active'
     group by currency, plan_id, denominator`;

/** The first day (UTC) of `asOf`'s month. */
export function monthOf(asOf: Date): Date {
  return new Date(Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), 1));
}


const largestFirst = <T extends { amount: number; currency: string }>(a: T, b: T) => b.amount - a.amount || a.currency.localeCompare(b.currency);

class Sums {
  private readonly map = new Map<string, { exact: Fraction[]; subscriptions: number }>();
  add(key: string, exact: Fraction, subscriptions: number): void {
    const e = this.map.get(key) ?? { exact: [], subscriptions: 0 };
    e.exact.push(exact);
    e.subscriptions += subscriptions;
    this.map.set(key, e);
  }
  entries(): [string, { amount: number; exact: Fraction; subscriptions: number }][] {
    return [...this.map].map(([k, v]) => {
      const exact = sumExact(v.exact);
      return [k, { amount: roundHalfUp(exact), exact, subscriptions: v.subscriptions }];
    });
  }
}

/** Current MRR and this month's movements, from the totals (sees the caller's transaction's writes). */
export async function readMrrTotals(em: EntityManager, asOf = new Date()): Promise<MrrTotalsRead> {
  const rows = await queryRows<ActiveTotalRow>(em, ACTIVE_TOTALS_SQL);
  return mrrTotalsOf(em, rows, asOf);
}

/** `readMrrTotals` from 'active' totals read already (`ACTIVE_TOTALS_SQL`, e.g. with other reads in one statement). */
export async function mrrTotalsOf(em: EntityManager, rows: readonly ActiveTotalRow[], asOf = new Date()): Promise<MrrTotalsRead> {
  const currencies = new Sums();
  const plans = new Sums();
  let active = 0;
  let read = 0;
  for (const row of rows) {
    read += Number(row.r);
    const n = Number(row.n);
    const exact = fraction(BigInt(row.numerator), BigInt(row.denominator));
    active += n;
    currencies.add(row.currency, exact, n);
    if (row.plan_id) plans.add(`${row.plan_id}\u0000${row.currency}`, exact, n);
  }
  // A key whose deltas cancel out (every subscription left it) is not listed.
  const currencyList: CurrencyMrr[] = currencies
    .entries()
    .filter(([, v]) => v.subscriptions > 0)
    .map(([currency, v]) => ({ currency, amount: v.amount, subscriptions: v.subscriptions }))
    .sort(largestFirst);
  const byPlan: PlanMrr[] = plans
    .entries()
    .filter(([, v]) => v.subscriptions > 0)
    .map(([key, v]) => {
      const [planId, currency] = key.split('\u0000') as [string, string];
      return { planId, currency, amount: v.amount, subscriptions: v.subscriptions };
    })
    .sort((a, b) => largestFirst(a, b) || a.planId.localeCompare(b.planId));

  // This month's movements come from the revenue history (./revenue.ts), so they agree with its current point.
  const movements = await monthMovements(em, asOf);
  return {
    snapshot: { asOf, currencies: currencyList, activeSubscriptions: active, byPlan },
    movements,
    rows: read,
  };
}

/**
 * Folds the delta rows into one row per key (dropping keys that sum to nothing). Safe beside writers:
 * it deletes only rows its snapshot sees and inserts their sums in the same statement, and rows
 * inserted meanwhile are left for the next time. Callers serialise compactions (signals hold the MRR
 * lock); two at once would still be correct, the second waiting on the first's rows.
 */
export async function compactMrrTotals(em: EntityManager): Promise<void> {
  await queryRows(
    em,
    `with gone as (delete from mrr_totals returning kind, month, currency, plan_id, denominator, numerator, subscriptions)
     insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
     select kind, month, currency, plan_id, denominator, sum(numerator), sum(subscriptions) from gone
     group by kind, month, currency, plan_id, denominator
     having sum(numerator) <> 0 or sum(subscriptions) <> 0`,
  );
}

/** Compaction is worth it once this many delta rows are read per snapshot. */
export const COMPACT_AFTER_ROWS = 200;
