import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';

export type WebhookEventStatus = 'pending' | 'processing' | 'processed' | 'ignored' | 'parked';

/**
 * The webhook inbox: one row per Stripe event id, stored before the 2xx and processed apart from the request.
 * Workers claim rows with `status = 'pending' and next_attempt_at <= now()`, in inbox order, by
 * `claim_partition`, using `FOR UPDATE SKIP LOCKED` (`processing` is no longer set: the claim marks rows
 * processed in its own transaction).
 */
export const WebhookEventSchema = defineEntity({
  name: 'WebhookEvent',
  tableName: 'webhook_events',
  properties: {
    /** evt_… */
    id: p.text().primary(),
    type: p.text(),
    apiVersion: p.text().nullable(),
    /** The event's `created`. */
    stripeCreatedAt: p.datetime(),
    /** `data.object.id` of the event, so events about one object can be serialised. */
    objectId: p.text().nullable().index('webhook_events_object_id_index'),
    /** The event as PostgreSQL's jsonb can hold it: U+0000 and lone surrogates replaced by U+FFFD. Workers read this. */
    payload: p.json<Stripe.Event>(),
    /** The event's JSON text exactly as received (lossless), kept only when `payload` had to replace characters. */
    payloadText: p.text().nullable(),
    receivedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    status: p.enum(['pending', 'processing', 'processed', 'ignored', 'parked'] as const).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    lockedUntil: p.datetime().nullable(),
    lastError: p.text().nullable(),
    processedAt: p.datetime().nullable(),
    /** Which worker loop takes the event: the hash of its customer (else object, else event id), stored with it. */
    claimPartition: p.integer().default(0),
  },
  indexes: [
    { name: 'webhook_events_status_next_attempt_at_index', properties: ['status', 'nextAttemptAt'] },
    // The queue in inbox order: a claim reads its head, not every due row.
    { name: 'webhook_events_pending_order_index', properties: ['stripeCreatedAt', 'receivedAt', 'id'], where: "status = 'pending'" },
    // Parked events, keyset-paged newest first by receipt (admins).
    { name: 'webhook_events_parked_received_at_id_index', properties: ['receivedAt', 'id'], where: "status = 'parked'" },
  ],
});

export class WebhookEvent extends WebhookEventSchema.class {}
WebhookEventSchema.setClass(WebhookEvent);
