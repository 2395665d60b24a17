import { defineEntity, p } from '@mikro-orm/core';
import { API_KEY_CHANGES_TRIGGERS } from './api-key-change.js';

/**
 * An API key a customer hands to its own callers. Only the SHA-256 of the secret is stored; `prefix`
 * (the first characters of the secret) is safe to show. `verifications` counts verifications by
 * outcome code and, with `lastUsedAt`, is written in batches (never once per request).
 */
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    /** key_… */
    id: p.text().primary(),
    /** cus_… */
    customerId: p.text().index('api_keys_customer_id_index'),
    name: p.text(),
    prefix: p.text(),
    /** Hex SHA-256 of the whole secret. */
    hash: p.text().unique('api_keys_hash_unique'),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    /** The createApiKey idempotency key (unique per customer): a repeat answers CONFLICT, never the secret again. */
    idempotencyKey: p.text().nullable(),
    /** The last rollApiKey idempotency key: a repeat answers CONFLICT. */
    rollIdempotencyKey: p.text().nullable(),
    rolledAt: p.datetime().nullable(),
    /** Verifications by outcome code, e.g. { "VALID": 120, "RATE_LIMITED": 3 }. */
    verifications: p.json<Record<string, number>>().default('{}'),
  },
  uniques: [{ name: 'api_keys_customer_id_idempotency_key_unique', properties: ['customerId', 'idempotencyKey'] }],
  // A customer's keys, keyset-paged oldest first.
  indexes: [{ name: 'api_keys_customer_id_created_at_id_index', properties: ['customerId', 'createdAt', 'id'] }],
  triggers: [API_KEY_CHANGES_TRIGGERS.apiKeys],
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
