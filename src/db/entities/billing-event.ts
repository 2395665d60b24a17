import { defineEntity, p } from '@mikro-orm/core';

/** The schema's BillingEventType values (schema.graphql). */
export type BillingEventTypeValue =
  | 'CUSTOMER_CREATED'
  | 'SUBSCRIPTION_STARTED'
  | 'SUBSCRIPTION_UPDATED'
  | 'SUBSCRIPTION_CANCELED'
  | 'PAYMENT_RECEIVED'
  | 'PAYMENT_FAILED'
  | 'INVOICE_CREATED'
  | 'MRR_UPDATED'
  | 'MILESTONE_REACHED'
  /** An API key first hit its plan's rate limit or quota in a window. */
  | 'API_KEY_LIMIT_REACHED';

/**
 * A signal derived from a Stripe event, stored once: (source_event_id, type) is unique, and `id` is stable
 * (derived from the source event id and type), so a redelivery can never emit it under a second id.
 */
export const BillingEventSchema = defineEntity({
  name: 'BillingEvent',
  tableName: 'billing_events',
  properties: {
    id: p.text().primary(),
    type: p.text().$type<BillingEventTypeValue>(),
    occurredAt: p.datetime().index('billing_events_occurred_at_index'),
    customerId: p.text().nullable().index('billing_events_customer_id_index'),
    subscriptionId: p.text().nullable(),
    invoiceId: p.text().nullable(),
    /** Minor units (payment amount, new MRR or milestone threshold, by type). */
    amount: p.bigint('number').nullable(),
    currency: p.text().nullable(),
    message: p.text(),
    /** Extra details (e.g. plan, retry attempt). */
    data: p.json<Record<string, unknown>>().nullable(),
    /** The Stripe event (evt_…) it came from; null for derived signals without one. */
    sourceEventId: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
  uniques: [{ name: 'billing_events_source_event_id_type_unique', properties: ['sourceEventId', 'type'] }],
  // The last MRR_UPDATED per currency (signals' "before"), without scanning every event.
  indexes: [{ name: 'billing_events_mrr_updated_index', properties: ['currency', 'createdAt'], where: "type = 'MRR_UPDATED'" }],
});

export class BillingEvent extends BillingEventSchema.class {}
BillingEventSchema.setClass(BillingEvent);
