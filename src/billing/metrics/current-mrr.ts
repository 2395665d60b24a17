/**
 * The current MRR per currency. `currentMrr` reads the incrementally kept totals (./mrr-totals.ts: a
 * few rows, whatever the number of subscriptions). `fullRecountMrr` recomputes the same figures from
 * the subscriptions and their items, independently of the stored fractions and of the totals, to
 * check them (tests, the bench).
 *
 * The recount is one aggregate: subscriptions that count (ACTIVE and PAST_DUE, the MRR rules)
 * are grouped by everything their MRR depends on (currency, plan, discount, and the facts of their
 * items), so the database returns one row per distinct shape with a count, and the exact math
 * (src/mrr) runs once per shape, not once per subscription. Totals are exact sums rounded
 * half-up once per currency, never sums of the rounded `mrr_amount` column.
 */
import type { EntityManager } from '@mikro-orm/core';
import { countsTowardMrrSql } from '../../db/entities/mrr-total.js';
import type { CurrencyMrr, MrrSnapshot, PlanMrr } from './mrr-snapshot.js';
import { readMrrTotals } from './mrr-totals.js';
import { queryRows } from '../../db/sql.js';
import { fraction, multiplyExact, roundHalfUp, subscriptionMrrExact, sumExact, type Fraction, type MrrItem } from '../../mrr/index.js';


interface ShapeRow {
  currency: string;
  plan_id: string | null;
  percent_off: string | null;
  amount_off: string | number | null;
  discount_currency: string | null;
  items: [number | string | null, number | null, string | null, number | null, string | null][] | string | null;
  n: number | string;
}

// Item facts come from the item's stored price object, else the mirrored `prices` row (price given as an id).
const SHAPES_SQL = `
select s.currency,
       s.plan_id,
       s.discount->>'percentOff' as percent_off,
       s.discount->>'amountOff' as amount_off,
       s.discount->>'currency' as discount_currency,
       i.items,
       count(*) as n
from subscriptions s
left join lateral (
  select jsonb_agg(f.item order by f.item::text) as items
  from (
    select jsonb_build_array(
             coalesce((si.raw->'price'->>'unit_amount')::bigint, p.unit_amount),
             si.quantity,
             coalesce(si.raw->'price'->'recurring'->>'interval', p.recurring_interval),
             coalesce((si.raw->'price'->'recurring'->>'interval_count')::int, p.recurring_interval_count),
             coalesce(si.raw->'price'->'recurring'->>'usage_type', p.usage_type)
           ) as item
    from subscription_items si
    left join prices p on p.id = si.price_id
    where si.subscription_id = s.id
  ) f
) i on true
where ${countsTowardMrrSql('s.status')} -- ACTIVE and PAST_DUE count
group by 1, 2, 3, 4, 5, 6`;

const num = (v: string | number | null | undefined): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

function shapeMrr(row: ShapeRow): Fraction | null {
  const raw = typeof row.items === 'string' ? (JSON.parse(row.items) as ShapeRow['items']) : row.items;
  const items: MrrItem[] = (Array.isArray(raw) ? raw : []).map(([unitAmount, quantity, interval, intervalCount, usageType]) => ({
    unitAmount: num(unitAmount),
    quantity: num(quantity),
    interval,
    intervalCount: num(intervalCount),
    usageType,
  }));
  const percentOff = num(row.percent_off);
  const amountOff = num(row.amount_off);
  const discount = percentOff !== null || amountOff !== null ? { percentOff, amountOff, currency: row.discount_currency } : null;
  return subscriptionMrrExact({ currency: row.currency, items, discount });
}

/**
 * MRR per currency, active subscriptions and MRR per plan, as of now, read through `em` (inside a
 * transaction it sees that transaction's writes), from the incrementally kept totals. A subscription
 * whose MRR cannot be computed (no per-unit price) counts as a subscription with no MRR.
 */
export async function currentMrr(em: EntityManager): Promise<MrrSnapshot> {
  return (await readMrrTotals(em)).snapshot;
}

/** The same figures as `currentMrr`, recounted from every counting subscription and its items (a full scan). */
export async function fullRecountMrr(em: EntityManager): Promise<MrrSnapshot> {
  const asOf = new Date();
  const rows = await queryRows<ShapeRow>(em, SHAPES_SQL);
  const byCurrency = new Map<string, { exact: Fraction[]; subscriptions: number }>();
  const entry = (): { exact: Fraction[]; subscriptions: number } => ({ exact: [], subscriptions: 0 });
  const byPlan = new Map<string, { planId: string; currency: string; exact: Fraction[]; subscriptions: number }>();
  let active = 0;
  for (const row of rows) {
    const count = Number(row.n);
    active += count;
    const each = shapeMrr(row);
    const total = each ? multiplyExact(each, fraction(BigInt(count))) : fraction(0n);
    const currency = row.currency.toLowerCase();
    const c = byCurrency.get(currency) ?? entry();
    c.exact.push(total);
    c.subscriptions += count;
    byCurrency.set(currency, c);
    if (row.plan_id) {
      const key = `${row.plan_id}\u0000${currency}`;
      const p = byPlan.get(key) ?? { planId: row.plan_id, currency, ...entry() };
      p.exact.push(total);
      p.subscriptions += count;
      byPlan.set(key, p);
    }
  }
  const largestFirst = <T extends { amount: number; currency: string }>(a: T, b: T) => b.amount - a.amount || a.currency.localeCompare(b.currency);
  return {
    asOf,
    currencies: [...byCurrency]
      .map(([currency, c]) => ({ currency, amount: roundHalfUp(sumExact(c.exact)), subscriptions: c.subscriptions }))
      .sort(largestFirst),
    activeSubscriptions: active,
    byPlan: [...byPlan.values()]
      .map((p) => ({ planId: p.planId, currency: p.currency, amount: roundHalfUp(sumExact(p.exact)), subscriptions: p.subscriptions }))
      .sort((a, b) => largestFirst(a, b) || a.planId.localeCompare(b.planId)),
  };
}

/** The MRR of one currency in a snapshot (0 when it has no counting subscription). */
export function mrrOf(snapshot: MrrSnapshot, currency: string): number {
  return snapshot.currencies.find((c) => c.currency === currency.toLowerCase())?.amount ?? 0;
}
