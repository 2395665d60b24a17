import { Migration } from '@mikro-orm/migrations';

export class Migration20261122013000_dunning extends Migration {

  override name = 'Migration20261122013000_dunning';

  override up(): void | Promise<void> {
    this.addSql(`create table "test_clocks" ("id" text not null, "frozen_time" timestamptz not null, "status" text not null, "name" text null, "deleted" boolean not null default false, "updated_at" timestamptz not null default now(), primary key ("id"));`);

    this.addSql(`alter table "dunning_cases" add column "schedule" jsonb not null default '[]', add column "soft_suspend_at" timestamptz null, add column "suspend_at" timestamptz null, add column "close_reason" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "dunning_cases" drop column "schedule", drop column "soft_suspend_at", drop column "suspend_at", drop column "close_reason";`);

    this.addSql(`drop table if exists "test_clocks" cascade;`);
  }

}
