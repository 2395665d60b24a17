/**
 * A page of listed subscriptions written as `upsertSubscription` writes each one (the row, its MRR
 * point as a copy of the state now, its items, items no longer on it deleted), in four statements for
 * the page instead of four per subscription. The full sync's copies are API copies, never an event's,
 * so each point is the state now on the customer's clock (rank 4), or, for a row that already has a
 * stamp, no earlier than that stamp (rank 0), as `upsertSubscription` records them.
 *
 * The rows go in customer order: each row's revenue trigger locks its customer, so two transactions
 * that share customers take their locks in the same order. The revenue history's outcome does not
 * depend on the order of the writes (each trigger recomputes the customer from the stored rows and
 * points), so a page also writes the event points of its subscriptions (`revenue-backfill.ts`): each
 * customer is then recomputed in one transaction rather than waited on by several.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { Subscription, SubscriptionItem } from '../../db/entities/subscription.js';
import { toStorableText } from '../../text/storable.js';
import {
  loadPriceFacts,
  MirrorInputError,
  subscriptionDiscount,
  subscriptionItemRows,
  subscriptionRow,
  unexpandedPriceIds,
  MRR_POINT_ON_CONFLICT,
  MRR_POINT_RANK_NOW,
  type PlanCatalog,
} from '../mirror/index.js';
import { boundRows } from '../mirror/bound-sql.js';
import { upsertPageRows } from './row-upsert.js';

/**
 * MRR points, one row each (`recordMrrPoint`'s statement over a JSON array): `at` null means now on
 * the row's test clock (else wall time), no earlier than `not_before`; the same conflict rule. Two
 * points for the same subscription and moment (an event's copy and the state now, say) keep the one
 * that rule keeps when written one after the other (the higher rank, then the larger value; one
 * statement cannot update a row twice). Inserted in customer order: each point's revenue trigger
 * locks its customer, so transactions that share customers take their locks in one order.
 */
const PAGE_MRR_POINTS_SQL = `insert into subscription_mrr_points as p (subscription_id, at, customer_id, numerator, denominator, rank)
select d.sid, d.at, d.cid, d.num, d.den, d.rank from (
  select distinct on (v.sid, v.at) v.* from (
    select e.j->>'sid' as sid,
           coalesce((e.j->>'at')::timestamptz, greatest(coalesce((select frozen_time from test_clocks where id = e.j->>'clock'), now()), (e.j->>'not_before')::timestamptz)) as at,
           e.j->>'cid' as cid, (e.j->>'num')::numeric as num, (e.j->>'den')::numeric as den, (e.j->>'rank')::smallint as rank
    from json_array_elements($1::json) as e(j)
  ) v
  order by v.sid, v.at, v.rank desc, v.num / v.den desc
) d
order by d.cid, d.sid, d.at
${MRR_POINT_ON_CONFLICT}`;

/** One MRR point of `PAGE_MRR_POINTS_SQL`. */
export interface PagePoint {
  sid: string;
  at: string | null;
  clock: string | null;
  not_before: string | null;
  cid: string;
  num: string;
  den: string;
  rank: number;
}

/** Writes `points` in one statement. */
export async function writeMrrPoints(em: EntityManager, points: PagePoint[]): Promise<void> {
  if (points.length === 0) return;
  await boundRows(em, PAGE_MRR_POINTS_SQL, [JSON.stringify(points)]);
}

/**
 * Writes the listed subscriptions (each with its row's stamp, which it keeps) in the caller's
 * transaction. Throws, writing nothing usable, when one of them cannot be written as
 * `upsertSubscription` would (no items, a truncated item list, discounts not expanded): the caller
 * then writes the page object by object, so that one is skipped with its own reason.
 */
export async function writeSubscriptionPage(
  em: EntityManager,
  subs: { sub: Stripe.Subscription; stamp: Date | undefined; data?: Record<string, unknown> | null }[],
  catalog: PlanCatalog,
  /** Points of these subscriptions' events (the revenue history), written with the page's own. */
  eventPoints: PagePoint[] = [],
): Promise<void> {
  if (subs.length === 0) return;
  const now = new Date();
  const checked = subs.map(({ sub, stamp, data }) => {
    const s = toStorableText(sub);
    if (!s.items || !Array.isArray(s.items.data)) throw new MirrorInputError(`subscription ${s.id}: no items list`);
    if (s.items.has_more) throw new MirrorInputError(`subscription ${s.id}: items list is truncated (has_more); pass the full list`);
    subscriptionDiscount(s);
    return { sub: s, stamp, data };
  });
  // Row data the caller built already (with the same prices) is reused, restamped; the rest is built here.
  const unbuilt = checked.filter((c) => !c.data);
  const prices = await loadPriceFacts(em, [...new Set(unbuilt.flatMap(({ sub }) => unexpandedPriceIds(sub)))]);
  type Row = ReturnType<typeof subscriptionRow>;
  const rows = checked
    .map(({ sub, stamp, data }) => ({
      sub,
      stamp,
      row: data
        ? ({ ...data, lastEventAt: stamp ?? null, syncedAt: now } as Row)
        : subscriptionRow(sub, catalog, prices, stamp ? { lastEventAt: stamp } : {}, now),
    }))
    .sort((a, b) => (a.row.customerId < b.row.customerId ? -1 : a.row.customerId > b.row.customerId ? 1 : a.row.id < b.row.id ? -1 : 1));
  // The points first, all in one statement: it takes the page's customers' locks (in its revenue
  // trigger, at its end) in one go and in order, before the rows' triggers need them again; while it
  // inserts, it holds none yet, so waiting on a point another transaction is writing cannot close a
  // cycle with it.
  await writeMrrPoints(em, [
    ...eventPoints,
    ...rows.map(({ row, stamp }) => ({
      sid: row.id,
      at: null,
      clock: row.testClock,
      not_before: stamp?.toISOString() ?? null,
      cid: row.customerId,
      num: row.mrrNumerator ?? '0',
      den: row.mrrDenominator ?? '1',
      rank: stamp ? 0 : MRR_POINT_RANK_NOW,
    })),
  ]);
  await upsertPageRows(
    em,
    Subscription,
    rows.map((r) => r.row),
  );
  const items = rows.flatMap(({ sub }) => subscriptionItemRows(sub, now));
  await upsertPageRows(em, SubscriptionItem, items);
  await (em as SqlEntityManager).execute(
    `delete from "subscription_items" where "subscription_id" = any(array[?]::text[]) and not ("id" = any(array[?]::text[]))`,
    [rows.map((r) => r.row.id), items.length > 0 ? items.map((i) => i.id) : ['']],
    'run',
  );
}
