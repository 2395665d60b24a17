import { defineEntity, p } from '@mikro-orm/core';

/**
 * A customer whose keys or verification facts changed, appended by triggers (see the migration
 * `api_key_changes`) and read by each replica's change feed (`src/billing/api-keys/change-feed.ts`).
 * Never written by the application; `xid` is the writing transaction.
 */
export const ApiKeyChangeSchema = defineEntity({
  name: 'ApiKeyChange',
  tableName: 'api_key_changes',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    xid: p.string().columnType('xid8').defaultRaw('pg_current_xact_id()').index('api_key_changes_xid_index'),
    customerId: p.text(),
    createdAt: p.datetime().defaultRaw('now()').index('api_key_changes_created_at_index'),
  },
});

export class ApiKeyChange extends ApiKeyChangeSchema.class {}
ApiKeyChangeSchema.setClass(ApiKeyChange);
