/**
 * Rebuilds the revenue history's MRR points from the subscription events Stripe still holds (it keeps
 * events for 30 days): each `customer.subscription.*` event's copy says what the subscription was worth
 * at the event's time, so plan, quantity and discount changes inside that window come back exactly,
 * whatever the mirror already holds (points are keyed by subscription and moment, so running it twice
 * changes nothing). Older changes are gone from Stripe: a subscription then counts its oldest known
 * value from when it started counting. Starts, trial ends, cancellations and ends come from the
 * subscription objects themselves (the full sync's rows), whatever their age.
 */
import type Stripe from 'stripe';
import type { Orm } from '../../db/orm.js';
import { recordEventMrrPoint } from '../mirror/index.js';

const SUBSCRIPTION_EVENTS = ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted'];

/** Events per transaction. */
const BATCH = 100;

export interface MrrBackfillReport {
  /** Subscription events read from Stripe. */
  events: number;
  /** Of those, events whose copy could be valued and was recorded (see `recordEventMrrPoint`). */
  recorded: number;
}

export async function backfillMrrPoints(orm: Orm, stripe: Stripe): Promise<MrrBackfillReport> {
  const report: MrrBackfillReport = { events: 0, recorded: 0 };
  let batch: Stripe.Event[] = [];
  const flush = async () => {
    const list = batch;
    batch = [];
    if (list.length === 0) return;
    await orm.em.fork().transactional(async (em) => {
      for (const e of list) {
        if (await recordEventMrrPoint(em, e.data.object as Stripe.Subscription, new Date(e.created * 1000), e.type)) report.recorded++;
      }
    });
  };
  for await (const e of stripe.events.list({ types: SUBSCRIPTION_EVENTS, limit: 100 })) {
    report.events++;
    batch.push(e);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return report;
}
