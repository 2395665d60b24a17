import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';

export type WebhookEventStatus = 'pending' | 'processing' | 'processed' | 'ignored' | 'parked';

/**
 * The webhook inbox: one row per Stripe event id, stored before the 2xx and processed apart from the request.
 * Workers claim rows with `status = 'pending' and next_attempt_at <= now()` (or a `processing` row whose
 * `locked_until` has passed) using `FOR UPDATE SKIP LOCKED`.
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
  },
  indexes: [
    { name: 'webhook_events_status_next_attempt_at_index', properties: ['status', 'nextAttemptAt'] },
    // Parked events, keyset-paged newest first by receipt (admins).
    { name: 'webhook_events_parked_received_at_id_index', properties: ['receivedAt', 'id'], where: "status = 'parked'" },
  ],
});

export class WebhookEvent extends WebhookEventSchema.class {}
WebhookEventSchema.setClass(WebhookEvent);
