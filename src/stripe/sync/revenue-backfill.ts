/**
 * Rebuilds the revenue history's MRR points from the subscription events Stripe still holds (it keeps
 * events for 30 days): each `customer.subscription.*` event's copy says what the subscription was worth
 * at the event's time, so plan, quantity and discount changes inside that window come back exactly,
 * whatever the mirror already holds (points are keyed by subscription and moment, so running it twice
 * changes nothing). Older changes are gone from Stripe: a subscription then counts its oldest known
 * value from when it started counting. Starts, trial ends, cancellations and ends come from the
 * subscription objects themselves (the full sync's rows), whatever their age.
 *
 * The events are listed first (the full sync lists them beside its other lists) and their points
 * written a page per statement, each as `recordEventMrrPoint` records one.
 */
import { DeadlockException } from '@mikro-orm/core';
import type Stripe from 'stripe';
import type { Orm } from '../../db/orm.js';
import { canValue, loadPriceFacts, mrrPointRank, subscriptionPointValue, unexpandedPriceIds } from '../mirror/index.js';
import { writeMrrPoints, type PagePoint } from './subscription-page.js';

/** Points per statement. */
const BATCH = 100;
/** Statements at the same time: each point's revenue trigger recomputes its customer, the database's work, spread over its cores. */
const IN_FLIGHT = 3;

export interface MrrBackfillReport {
  /** Subscription events read from Stripe. */
  events: number;
  /** Of those, events whose copy could be valued and was recorded (see `recordEventMrrPoint`). */
  recorded: number;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** a's value against b's (numerator/denominator, exact): negative, zero or positive. */
function compareValue(a: PagePoint, b: PagePoint): number {
  const d = BigInt(a.num) * BigInt(b.den) - BigInt(b.num) * BigInt(a.den);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/**
 * The points of `events` and the report of them. Copies that cannot be valued (no customer, a
 * truncated item list, discounts given as ids) are not recorded, as `recordEventMrrPoint` does. Several
 * events of one subscription in the same second keep the one its conflict rule keeps (the higher rank,
 * then the larger value), so the outcome is the same in whatever order they come.
 */
export async function eventMrrPoints(orm: Orm, events: Stripe.Event[]): Promise<{ report: MrrBackfillReport; points: PagePoint[] }> {
  const report: MrrBackfillReport = { events: events.length, recorded: 0 };
  const valuable = events.filter((e) => canValue(e.data.object as Stripe.Subscription));
  if (valuable.length === 0) return { report, points: [] };
  const em = orm.em.fork();
  const prices = await loadPriceFacts(em, [...new Set(valuable.flatMap((e) => unexpandedPriceIds(e.data.object as Stripe.Subscription)))]);
  const byKey = new Map<string, PagePoint>();
  for (const e of valuable) {
    // Only the value: building the whole row would deep-copy each event's subscription for its `raw`.
    const value = subscriptionPointValue(e.data.object as Stripe.Subscription, prices);
    const point: PagePoint = {
      sid: value.id,
      at: new Date(e.created * 1000).toISOString(),
      clock: null,
      not_before: null,
      cid: value.customerId,
      num: value.mrrNumerator ?? '0',
      den: value.mrrDenominator ?? '1',
      rank: mrrPointRank(e.type),
    };
    report.recorded++;
    const key = `${point.sid} ${point.at}`;
    const kept = byKey.get(key);
    if (!kept || point.rank > kept.rank || (point.rank === kept.rank && compareValue(point, kept) > 0)) byKey.set(key, point);
  }
  return { report, points: [...byKey.values()] };
}

/**
 * Writes points a statement per BATCH, a transaction each, in customer, then subscription order (each
 * point's revenue trigger locks its customer): statements of consecutive ranges, written side by
 * side, take their locks in one order, so none waits on another in a cycle.
 */
export async function writePointBatches(orm: Orm, unsorted: PagePoint[]): Promise<void> {
  const points = [...unsorted].sort((a, b) => compareText(a.cid, b.cid) || compareText(a.sid, b.sid) || compareText(a.at ?? '', b.at ?? ''));
  const batches: PagePoint[][] = [];
  for (let i = 0; i < points.length; i += BATCH) batches.push(points.slice(i, i + BATCH));
  let next = 0;
  const writer = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      // A live gateway's worker writing the same customer's points in another order can deadlock
      // with a batch; the database then aborts one of the two, and the batch is written again.
      for (let attempt = 1; ; attempt++) {
        try {
          await orm.em.fork().transactional((tx) => writeMrrPoints(tx, batch));
          break;
        } catch (err) {
          if (!(err instanceof DeadlockException) || attempt >= 3) throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, writer));
}
