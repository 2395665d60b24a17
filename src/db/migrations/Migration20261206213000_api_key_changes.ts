import { Migration } from '@mikro-orm/migrations';

/**
 * A change feed for the API key verification caches: triggers on every table a verification reads
 * (keys, customers, subscriptions, dunning cases, test clocks) append the customer concerned, whoever
 * writes (webhook worker, write-through, CLI, raw SQL). Each gateway replica reads the rows added since
 * its last look a few times a second and drops what it cached about those customers, so a verification
 * needs no statement of its own. `xid` (the writing transaction) lets a reader find rows whose
 * transaction committed after it looked, although their ids are lower. Rows are pruned after a while.
 * Only columns a verification reads fire on api_keys: the per-second usage-stats update does not.
 */
export class Migration20261206213000_api_key_changes extends Migration {

  override name = 'Migration20261206213000_api_key_changes';

  override up(): void | Promise<void> {
    this.addSql(`create table "api_key_changes" ("id" bigserial not null, "xid" xid8 not null default pg_current_xact_id(), "customer_id" text not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "api_key_changes_xid_index" on "api_key_changes" ("xid");`);
    this.addSql(`create index "api_key_changes_created_at_index" on "api_key_changes" ("created_at");`);
    this.addSql(`create function "api_key_changes_note"() returns trigger language plpgsql as $$
begin
  -- Field references are resolved when a statement first runs, so each table and operation gets its own statements.
  if tg_table_name = 'test_clocks' then
    if tg_op = 'DELETE' then
      insert into api_key_changes (customer_id) select c.id from customers c where c.test_clock = old.id;
    else
      insert into api_key_changes (customer_id) select c.id from customers c where c.test_clock = new.id;
    end if;
    return null;
  end if;
  if tg_table_name = 'customers' then
    if tg_op = 'DELETE' then
      insert into api_key_changes (customer_id) values (old.id);
    else
      insert into api_key_changes (customer_id) values (new.id);
    end if;
    return null;
  end if;
  if tg_op <> 'INSERT' then
    insert into api_key_changes (customer_id) values (old.customer_id);
  end if;
  if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id) then
    insert into api_key_changes (customer_id) values (new.customer_id);
  end if;
  return null;
end $$;`);
    this.addSql(`create trigger "api_key_changes_keys" after insert or delete or update of "hash", "revoked_at", "expires_at", "customer_id" on "api_keys" for each row execute function "api_key_changes_note"();`);
    for (const table of ['customers', 'subscriptions', 'dunning_cases', 'test_clocks']) {
      this.addSql(`create trigger "api_key_changes_${table}" after insert or update or delete on "${table}" for each row execute function "api_key_changes_note"();`);
    }
  }

  override down(): void | Promise<void> {
    for (const table of ['api_keys', 'customers', 'subscriptions', 'dunning_cases', 'test_clocks']) {
      this.addSql(`drop trigger if exists "api_key_changes_${table === 'api_keys' ? 'keys' : table}" on "${table}";`);
    }
    this.addSql(`drop function if exists "api_key_changes_note"();`);
    this.addSql(`drop table if exists "api_key_changes" cascade;`);
  }

}
