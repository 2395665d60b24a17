import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { API_KEY_CHANGES_TRIGGERS } from './api-key-change.js';
import { countsTowardMrrSql, mrrBucketsSql } from './mrr-total.js';
import { revenueChangedSql } from './revenue.js';

/** The subscription's discount as far as MRR needs it (from its coupon). */
export type SubscriptionDiscount = {
  couponId: string | null;
  /** e.g. 25 for 25 %; null when the coupon is an amount off. */
  percentOff: number | null;
  /** Minor units of `currency`; null when the coupon is a percentage. */
  amountOff: number | null;
  currency: string | null;
  duration: 'forever' | 'once' | 'repeating';
  durationInMonths: number | null;
  /** When the discount stops applying (null: forever). */
  end: string | null;
};

/** Whether the `new` / `old` row version counts toward MRR (the MRR rules), as SQL. */
const COUNTS = (row: 'new' | 'old') => countsTowardMrrSql(`${row}.status`);

/**
 * Before a write: when it started counting toward MRR (the end of its trial, else its creation) and when
 * it stopped (its end), both read from the subscription's own state, never from the order of writes, so
 * events applied in any order leave the same row (the convergence tests compare whole tables). A
 * canceled or paused subscription counted once when it ended after its trial; unpaid ones always did.
 */
const MRR_MOMENTS_TRIGGER_BODY = `
if ${COUNTS('new')} or new.status = 'unpaid'
   or (new.status in ('canceled', 'paused') and coalesce(new.ended_at, new.canceled_at, new.trial_end) > coalesce(new.trial_end, new.created_at)) then
  new.first_counted_at := greatest(new.created_at, coalesce(new.trial_end, new.created_at));
else
  new.first_counted_at := null;
end if;
if new.first_counted_at is not null and not (${COUNTS('new')}) then
  new.stopped_counting_at := coalesce(new.ended_at, new.canceled_at, new.last_event_at, new.first_counted_at);
else
  new.stopped_counting_at := null;
end if;
return new;`;

/** An after-trigger's first step: an UPDATE that keeps every one of `conditions` true changes nothing it derives. */
const nothingWhenUpdateKeeps = (conditions: readonly string[]) => `
if tg_op = 'UPDATE'
   and ${conditions.join('\n   and ')} then
  return null;
end if;`;
const same = (column: string) => `old.${column} = new.${column}`;
const sameOrBothNull = (...columns: string[]) => columns.map((c) => `old.${c} is not distinct from new.${c}`);

/** The totals one row version adds to: 'active' while it counts, 'new' / 'churned' in the UTC month it started / stopped. */
const mrrDelta = (row: 'new' | 'old', sign: '' | '-') => `
  insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
  select b.kind, b.month, lower(${row}.currency), coalesce(${row}.plan_id, ''), coalesce(${row}.mrr_denominator, 1), ${sign}coalesce(${row}.mrr_numerator, 0), ${sign}1
  from ${mrrBucketsSql(row)}
  where b.applies;`;

/**
 * After a write: the old version's contributions out and the new one's in, as inserted delta rows (no
 * row is updated, so concurrent writers neither wait for nor overwrite each other). Nothing when no
 * input of MRR changed (a re-sync of the same object). src/billing/metrics/mrr-totals.ts reads them.
 */
const MRR_TOTALS_TRIGGER_BODY = `${nothingWhenUpdateKeeps([
  `(${COUNTS('old')}) = (${COUNTS('new')})`,
  same('currency'),
  ...sameOrBothNull('plan_id', 'mrr_numerator', 'mrr_denominator', 'first_counted_at', 'stopped_counting_at'),
])}
if tg_op <> 'INSERT' then${mrrDelta('old', '-')}
end if;
if tg_op <> 'DELETE' then${mrrDelta('new', '')}
end if;
return null;`;

/**
 * After a write: the revenue history of the customer (src/db/entities/revenue.ts) is recomputed when an
 * input of it changed (who, which currency, when it started or stopped counting, its value).
 */
const REVENUE_TRIGGER_BODY = `${nothingWhenUpdateKeeps([
  same('customer_id'),
  same('currency'),
  ...sameOrBothNull('first_counted_at', 'stopped_counting_at', 'mrr_numerator', 'mrr_denominator'),
])}
${revenueChangedSql('array[old.customer_id, new.customer_id]')}
return null;`;

/**
 * Mirror of a Stripe subscription. `planId` is the catalog id: the licensed item's price `lookup_key`.
 * Periods come from the items (current API versions keep them there).
 */
export const SubscriptionSchema = defineEntity({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    /** sub_… */
    id: p.text().primary(),
    customerId: p.text(),
    /** Stripe's status: incomplete | incomplete_expired | trialing | active | past_due | canceled | unpaid | paused */
    status: p.text().$type<Stripe.Subscription.Status>(),
    planId: p.text().nullable(),
    /** The licensed item's price (price_…). */
    priceId: p.text().nullable(),
    quantity: p.integer().nullable(),
    currency: p.text(),
    currentPeriodStart: p.datetime().nullable(),
    currentPeriodEnd: p.datetime().nullable(),
    cancelAtPeriodEnd: p.boolean().default(false),
    cancelAt: p.datetime().nullable(),
    canceledAt: p.datetime().nullable(),
    endedAt: p.datetime().nullable(),
    trialStart: p.datetime().nullable(),
    trialEnd: p.datetime().nullable(),
    latestInvoiceId: p.text().nullable(),
    discount: p.json<SubscriptionDiscount>().nullable(),
    /** This subscription's monthly recurring revenue in minor units, computed by the writer; null if not computed. */
    mrrAmount: p.integer().nullable(),
    /** Exact MRR = mrrNumerator / mrrDenominator minor units (src/billing/metrics/mrr-totals.ts); null if not computed. */
    mrrNumerator: p.decimal('string').columnType('numeric').nullable(),
    mrrDenominator: p.decimal('string').columnType('numeric').nullable(),
    /** When it started counting toward MRR (set by the `subscriptions` trigger from the row's state). */
    firstCountedAt: p.datetime().nullable(),
    /** When it stopped counting (set by the trigger from the row's state; null while it counts). */
    stoppedCountingAt: p.datetime().nullable(),
    testClock: p.text().nullable(),
    metadata: p.json<Record<string, string>>().default('{}'),
    /** Stripe `created`. */
    createdAt: p.datetime(),
    raw: p.json<Stripe.Subscription>(),
    /** `created` of the Stripe event that last wrote this row; null when written from an API response. */
    lastEventAt: p.datetime().nullable(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
  indexes: [
    { name: 'subscriptions_customer_id_index', properties: ['customerId'] },
    { name: 'subscriptions_status_index', properties: ['status'] },
    { name: 'subscriptions_plan_id_status_index', properties: ['planId', 'status'] },
    // Keyset pages, newest first: every customer's (admins) and one customer's.
    { name: 'subscriptions_created_at_id_index', properties: ['createdAt', 'id'] },
    { name: 'subscriptions_customer_id_created_at_id_index', properties: ['customerId', 'createdAt', 'id'] },
  ],
  // In the database, so every write path (mirror upserts, deletes, raw SQL, COPY) keeps the MRR totals in step.
  triggers: [
    { name: 'mrr_moments', timing: 'before', events: ['insert', 'update'], body: MRR_MOMENTS_TRIGGER_BODY },
    { name: 'mrr_totals', timing: 'after', events: ['insert', 'update', 'delete'], body: MRR_TOTALS_TRIGGER_BODY },
    { name: 'revenue_history', timing: 'after', events: ['insert', 'update', 'delete'], body: REVENUE_TRIGGER_BODY },
    API_KEY_CHANGES_TRIGGERS.byCustomerId,
  ],
});

export class Subscription extends SubscriptionSchema.class {}
SubscriptionSchema.setClass(Subscription);

/** Mirror of a subscription item (si_…). */
export const SubscriptionItemSchema = defineEntity({
  name: 'SubscriptionItem',
  tableName: 'subscription_items',
  properties: {
    /** si_… */
    id: p.text().primary(),
    subscriptionId: p.text().index('subscription_items_subscription_id_index'),
    priceId: p.text(),
    /** Null for metered items. */
    quantity: p.integer().nullable(),
    currentPeriodStart: p.datetime().nullable(),
    currentPeriodEnd: p.datetime().nullable(),
    createdAt: p.datetime().nullable(),
    raw: p.json<Stripe.SubscriptionItem>(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
});

export class SubscriptionItem extends SubscriptionItemSchema.class {}
SubscriptionItemSchema.setClass(SubscriptionItem);
