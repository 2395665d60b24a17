import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';

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
