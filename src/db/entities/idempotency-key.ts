import { defineEntity, p } from '@mikro-orm/core';

export type IdempotencyStatus = 'in_progress' | 'completed' | 'failed';

/**
 * A mutation's idempotency key, scoped to its caller (e.g. the viewer's `sub`): the primary key is
 * (scope, key). `requestHash` detects the same key reused with a different input.
 */
export const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  properties: {
    scope: p.text().primary(),
    key: p.text().primary(),
    /** e.g. 'subscribe', 'changePlan'. */
    operation: p.text(),
    requestHash: p.text(),
    status: p.enum(['in_progress', 'completed', 'failed'] as const).default('in_progress'),
    /** The stored result (or error) to replay. */
    response: p.json<Record<string, unknown>>().nullable(),
    createdAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
    updatedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()).onUpdate(() => new Date()),
    expiresAt: p.datetime().index('idempotency_keys_expires_at_index'),
  },
});

export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
