import { Migration } from '@mikro-orm/migrations';

/**
 * API keys: hashed secrets (SHA-256, unique), a display prefix, per-key verification counters by
 * outcome. Keys are looked up by hash on every verification (the unique index is that lookup).
 */
export class Migration20261206200000_api_keys extends Migration {

  override name = 'Migration20261206200000_api_keys';

  override up(): void | Promise<void> {
    this.addSql(`create table "api_keys" ("id" text not null, "customer_id" text not null, "name" text not null, "prefix" text not null, "hash" text not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, "idempotency_key" text null, "roll_idempotency_key" text null, "rolled_at" timestamptz null, "verifications" jsonb not null default '{}', primary key ("id"));`);
    this.addSql(`create index "api_keys_customer_id_index" on "api_keys" ("customer_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_hash_unique" unique ("hash");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_customer_id_idempotency_key_unique" unique ("customer_id", "idempotency_key");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }

}
