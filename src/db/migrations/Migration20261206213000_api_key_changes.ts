import { Migration } from '@mikro-orm/migrations';

/**
 * A change feed for the API key verification caches: triggers on every table a verification reads
 * (keys, customers, subscriptions, dunning cases, test clocks) append the customer concerned, whoever
 * writes (webhook worker, write-through, CLI, raw SQL). Each gateway replica reads the rows added since
 * its last look a few times a second and drops what it cached about those customers, so a verification
 * needs no statement of its own. `xid` (the writing transaction) lets a reader find rows whose
 * transaction committed after it looked, although their ids are lower. Rows are pruned after a while.
 * The triggers are declared on the entities (`API_KEY_CHANGES_TRIGGERS`, src/db/entities/api-key-change.ts).
 */
export class Migration20261206213000_api_key_changes extends Migration {

  override name = 'Migration20261206213000_api_key_changes';

  override up(): void | Promise<void> {
    this.addSql(`create table "api_key_changes" ("id" bigserial not null, "xid" xid8 not null default pg_current_xact_id(), "customer_id" text not null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "api_key_changes_xid_index" on "api_key_changes" ("xid");`);
    this.addSql(`create index "api_key_changes_created_at_index" on "api_key_changes" ("created_at");`);

    this.addSql(`create or replace function "api_keys_api_key_changes_fn"() returns trigger as \$\$ begin if tg_op = 'UPDATE' and old.customer_id = new.customer_id and old.hash = new.hash
   and old.revoked_at is not distinct from new.revoked_at and old.expires_at is not distinct from new.expires_at then
  return null; end if; if tg_op <> 'INSERT' then
  insert into api_key_changes (customer_id) values (old.customer_id); end if; if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id) then
  insert into api_key_changes (customer_id) values (new.customer_id); end if; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "api_key_changes" AFTER INSERT OR UPDATE OR DELETE on "api_keys" for each ROW execute function "api_keys_api_key_changes_fn"();`);

    this.addSql(`create or replace function "customers_api_key_changes_fn"() returns trigger as \$\$ begin insert into api_key_changes (customer_id) values (coalesce(new.id, old.id)); return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "api_key_changes" AFTER INSERT OR UPDATE OR DELETE on "customers" for each ROW execute function "customers_api_key_changes_fn"();`);

    this.addSql(`create or replace function "dunning_cases_api_key_changes_fn"() returns trigger as \$\$ begin if tg_op <> 'INSERT' then
  insert into api_key_changes (customer_id) values (old.customer_id); end if; if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id) then
  insert into api_key_changes (customer_id) values (new.customer_id); end if; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "api_key_changes" AFTER INSERT OR UPDATE OR DELETE on "dunning_cases" for each ROW execute function "dunning_cases_api_key_changes_fn"();`);

    this.addSql(`create or replace function "subscriptions_api_key_changes_fn"() returns trigger as \$\$ begin if tg_op <> 'INSERT' then
  insert into api_key_changes (customer_id) values (old.customer_id); end if; if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id) then
  insert into api_key_changes (customer_id) values (new.customer_id); end if; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "api_key_changes" AFTER INSERT OR UPDATE OR DELETE on "subscriptions" for each ROW execute function "subscriptions_api_key_changes_fn"();`);

    this.addSql(`create or replace function "test_clocks_api_key_changes_fn"() returns trigger as \$\$ begin insert into api_key_changes (customer_id) select c.id from customers c where c.test_clock = coalesce(new.id, old.id); return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "api_key_changes" AFTER INSERT OR UPDATE OR DELETE on "test_clocks" for each ROW execute function "test_clocks_api_key_changes_fn"();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "api_key_changes" on "api_keys";`);
    this.addSql(`drop function if exists "api_keys_api_key_changes_fn"();`);

    this.addSql(`drop trigger if exists "api_key_changes" on "customers";`);
    this.addSql(`drop function if exists "customers_api_key_changes_fn"();`);

    this.addSql(`drop trigger if exists "api_key_changes" on "dunning_cases";`);
    this.addSql(`drop function if exists "dunning_cases_api_key_changes_fn"();`);

    this.addSql(`drop trigger if exists "api_key_changes" on "subscriptions";`);
    this.addSql(`drop function if exists "subscriptions_api_key_changes_fn"();`);

    this.addSql(`drop trigger if exists "api_key_changes" on "test_clocks";`);
    this.addSql(`drop function if exists "test_clocks_api_key_changes_fn"();`);

    this.addSql(`drop table if exists "api_key_changes" cascade;`);
  }

}
