import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';

/**
 * The usage ledger. `id` doubles as the Stripe meter event `identifier`, so a resend after a crash is
 * deduplicated by Stripe. (customer_id, idempotency_key) is unique: a repeated key adds nothing.
 */
export const UsageRecordSchema = defineEntity({
  name: 'UsageRecord',
  tableName: 'usage_records',
  properties: {
    /** A UUID unless the writer supplies its own (≤ 100 chars, Stripe's identifier limit). */
    id: p.text().primary().onCreate(() => randomUUID()),
    /** cus_… */
    customerId: p.text(),
    /** The meter's event name (e.g. 'api_calls'). */
    meter: p.text(),
    quantity: p.integer(),
    timestamp: p.datetime(),
    idempotencyKey: p.text(),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    /** Null until pushed to Stripe as a meter event. */
    sentAt: p.datetime().nullable(),
    sendAttempts: p.integer().default(0),
    lastError: p.text().nullable(),
    /** Meter-event flusher: claim lease, then retry backoff (null: due now). */
    nextAttemptAt: p.datetime().nullable(),
    /** Meter-event flusher: set when Stripe rejected the row for good; it leaves the queue. */
    parkedAt: p.datetime().nullable(),
  },
  uniques: [{ name: 'usage_records_customer_id_idempotency_key_unique', properties: ['customerId', 'idempotencyKey'] }],
  indexes: [
    { name: 'usage_records_unsent_index', properties: ['createdAt'], where: 'sent_at is null' },
    { name: 'usage_records_customer_id_meter_timestamp_index', properties: ['customerId', 'meter', 'timestamp'] },
  ],
});

export class UsageRecord extends UsageRecordSchema.class {}
UsageRecordSchema.setClass(UsageRecord);
