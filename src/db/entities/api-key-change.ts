import { defineEntity, p, type TriggerDef } from '@mikro-orm/core';

/** Notes the customer of a row written in a table with `customer_id` (both, when it moved). */
const BY_CUSTOMER_ID = `
if tg_op <> 'INSERT' then
  insert into api_key_changes (customer_id) values (old.customer_id);
end if;
if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id) then
  insert into api_key_changes (customer_id) values (new.customer_id);
end if;
return null;`;

/**
 * The trigger each table a verification reads carries (the function is `<table>_api_key_changes_fn`).
 * On `api_keys` only what a verification reads counts: not the per-second usage-stats update.
 */
export const API_KEY_CHANGES_TRIGGERS = {
  apiKeys: {
    name: 'api_key_changes',
    timing: 'after',
    events: ['insert', 'update', 'delete'],
    body: `
if tg_op = 'UPDATE' and old.customer_id = new.customer_id and old.hash = new.hash
   and old.revoked_at is not distinct from new.revoked_at and old.expires_at is not distinct from new.expires_at then
  return null;
end if;${BY_CUSTOMER_ID}`,
  },
  byCustomerId: { name: 'api_key_changes', timing: 'after', events: ['insert', 'update', 'delete'], body: BY_CUSTOMER_ID },
  customers: {
    name: 'api_key_changes',
    timing: 'after',
    events: ['insert', 'update', 'delete'],
    body: `
insert into api_key_changes (customer_id) values (coalesce(new.id, old.id));
return null;`,
  },
  testClocks: {
    name: 'api_key_changes',
    timing: 'after',
    events: ['insert', 'update', 'delete'],
    body: `
insert into api_key_changes (customer_id) select c.id from customers c where c.test_clock = coalesce(new.id, old.id);
return null;`,
  },
} satisfies Record<string, TriggerDef>;

/**
 * A customer whose keys or verification facts changed, appended by the triggers below (declared on
 * `api_keys`, `customers`, `subscriptions`, `dunning_cases` and `test_clocks`, whoever writes) and read by each replica's change feed (`src/billing/api-keys/change-feed.ts`).
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
