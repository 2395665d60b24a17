import { Migration } from '@mikro-orm/migrations';

export class Migration20261121223846_initial extends Migration {

  override name = 'Migration20261121223846_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "billing_events" ("id" text not null, "type" text not null, "occurred_at" timestamptz not null, "customer_id" text null, "subscription_id" text null, "invoice_id" text null, "amount" bigint null, "currency" text null, "message" text not null, "data" jsonb null, "source_event_id" text null, "created_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "billing_events_occurred_at_index" on "billing_events" ("occurred_at");`);
    this.addSql(`create index "billing_events_customer_id_index" on "billing_events" ("customer_id");`);
    this.addSql(`alter table "billing_events" add constraint "billing_events_source_event_id_type_unique" unique ("source_event_id", "type");`);

    this.addSql(`create table "customers" ("id" text not null, "external_id" text null, "email" text null, "name" text null, "metadata" jsonb not null default '{}', "default_payment_method" text null, "test_clock" text null, "deleted" boolean not null default false, "created_at" timestamptz not null, "raw" jsonb not null, "last_event_at" timestamptz null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`alter table "customers" add constraint "customers_external_id_unique" unique ("external_id");`);
    this.addSql(`create index "customers_email_index" on "customers" ("email");`);
    this.addSql(`create index "customers_created_at_id_index" on "customers" ("created_at", "id");`);

    this.addSql(`create table "dunning_cases" ("id" uuid not null, "customer_id" text not null, "invoice_id" text not null, "subscription_id" text null, "status" text not null default 'open', "step" int not null default 0, "attempt" int not null default 0, "opened_at" timestamptz not null, "closed_at" timestamptz null, "next_step_at" timestamptz null, "updated_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "dunning_cases_customer_id_index" on "dunning_cases" ("customer_id");`);
    this.addSql(`create index "dunning_cases_status_next_step_at_index" on "dunning_cases" ("status", "next_step_at");`);
    this.addSql(`create unique index "dunning_cases_open_invoice_unique" on "dunning_cases" ("invoice_id") where status = 'open';`);

    this.addSql(`create table "idempotency_keys" ("scope" text not null, "key" text not null, "operation" text not null, "request_hash" text not null, "status" text not null default 'in_progress', "response" jsonb null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "expires_at" timestamptz not null, primary key ("scope", "key"));`);
    this.addSql(`create index "idempotency_keys_expires_at_index" on "idempotency_keys" ("expires_at");`);

    this.addSql(`create table "invoices" ("id" text not null, "customer_id" text not null, "subscription_id" text null, "number" text null, "status" text not null, "billing_reason" text null, "currency" text not null, "subtotal" int not null default 0, "total" int not null, "amount_due" int not null, "amount_paid" int not null, "attempt_count" int not null default 0, "next_payment_attempt" timestamptz null, "created_at" timestamptz not null, "period_start" timestamptz null, "period_end" timestamptz null, "due_date" timestamptz null, "paid_at" timestamptz null, "hosted_invoice_url" text null, "invoice_pdf" text null, "test_clock" text null, "raw" jsonb not null, "last_event_at" timestamptz null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "invoices_customer_id_created_at_id_index" on "invoices" ("customer_id", "created_at", "id");`);
    this.addSql(`create index "invoices_subscription_id_index" on "invoices" ("subscription_id");`);
    this.addSql(`create index "invoices_status_index" on "invoices" ("status");`);

    this.addSql(`create table "invoice_lines" ("id" text not null, "invoice_id" text not null, "description" text null, "amount" int not null, "currency" text not null, "quantity" int null, "period_start" timestamptz null, "period_end" timestamptz null, "price_id" text null, "proration" boolean not null default false, "position" int not null, primary key ("id"));`);
    this.addSql(`create index "invoice_lines_invoice_id_position_index" on "invoice_lines" ("invoice_id", "position");`);

    this.addSql(`create table "meters" ("id" text not null, "event_name" text not null, "display_name" text not null, "status" text not null default 'active', "created_at" timestamptz not null, "raw" jsonb not null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "meters_event_name_index" on "meters" ("event_name");`);

    this.addSql(`create table "milestones" ("currency" text not null, "threshold" bigint not null, "mrr_amount" bigint not null, "reached_at" timestamptz not null, primary key ("currency", "threshold"));`);

    this.addSql(`create table "prices" ("id" text not null, "product_id" text not null, "lookup_key" text null, "active" boolean not null default true, "currency" text not null, "unit_amount" int null, "unit_amount_decimal" text null, "billing_scheme" text not null default 'per_unit', "tiers_mode" text null, "tiers" jsonb null, "type" text not null default 'recurring', "recurring_interval" text null, "recurring_interval_count" int null, "usage_type" text null, "meter_id" text null, "nickname" text null, "metadata" jsonb not null default '{}', "created_at" timestamptz not null, "raw" jsonb not null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "prices_product_id_index" on "prices" ("product_id");`);
    this.addSql(`create index "prices_lookup_key_index" on "prices" ("lookup_key");`);

    this.addSql(`create table "products" ("id" text not null, "name" text not null, "description" text null, "active" boolean not null default true, "metadata" jsonb not null default '{}', "default_price_id" text null, "created_at" timestamptz not null, "raw" jsonb not null, "synced_at" timestamptz not null default now(), primary key ("id"));`);

    this.addSql(`create table "subscriptions" ("id" text not null, "customer_id" text not null, "status" text not null, "plan_id" text null, "price_id" text null, "quantity" int null, "currency" text not null, "current_period_start" timestamptz null, "current_period_end" timestamptz null, "cancel_at_period_end" boolean not null default false, "cancel_at" timestamptz null, "canceled_at" timestamptz null, "ended_at" timestamptz null, "trial_start" timestamptz null, "trial_end" timestamptz null, "latest_invoice_id" text null, "discount" jsonb null, "mrr_amount" int null, "test_clock" text null, "metadata" jsonb not null default '{}', "created_at" timestamptz not null, "raw" jsonb not null, "last_event_at" timestamptz null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "subscriptions_customer_id_index" on "subscriptions" ("customer_id");`);
    this.addSql(`create index "subscriptions_status_index" on "subscriptions" ("status");`);
    this.addSql(`create index "subscriptions_plan_id_status_index" on "subscriptions" ("plan_id", "status");`);

    this.addSql(`create table "subscription_items" ("id" text not null, "subscription_id" text not null, "price_id" text not null, "quantity" int null, "current_period_start" timestamptz null, "current_period_end" timestamptz null, "created_at" timestamptz null, "raw" jsonb not null, "synced_at" timestamptz not null default now(), primary key ("id"));`);
    this.addSql(`create index "subscription_items_subscription_id_index" on "subscription_items" ("subscription_id");`);

    this.addSql(`create table "sync_state" ("key" text not null, "value" text not null, "updated_at" timestamptz not null default now(), primary key ("key"));`);

    this.addSql(`create table "usage_records" ("id" text not null, "customer_id" text not null, "meter" text not null, "quantity" int not null, "timestamp" timestamptz not null, "idempotency_key" text not null, "created_at" timestamptz not null default now(), "sent_at" timestamptz null, "send_attempts" int not null default 0, "last_error" text null, primary key ("id"));`);
    this.addSql(`create index "usage_records_unsent_index" on "usage_records" ("created_at") where sent_at is null;`);
    this.addSql(`create index "usage_records_customer_id_meter_timestamp_index" on "usage_records" ("customer_id", "meter", "timestamp");`);
    this.addSql(`alter table "usage_records" add constraint "usage_records_customer_id_idempotency_key_unique" unique ("customer_id", "idempotency_key");`);

    this.addSql(`create table "webhook_events" ("id" text not null, "type" text not null, "api_version" text null, "stripe_created_at" timestamptz not null, "object_id" text null, "payload" jsonb not null, "received_at" timestamptz not null default now(), "status" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "locked_until" timestamptz null, "last_error" text null, "processed_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "webhook_events_object_id_index" on "webhook_events" ("object_id");`);
    this.addSql(`create index "webhook_events_status_next_attempt_at_index" on "webhook_events" ("status", "next_attempt_at");`);

    this.addSql(`alter table "dunning_cases" add constraint "dunning_cases_status_check" check ("status" in ('open', 'closed'));`);

    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_status_check" check ("status" in ('in_progress', 'completed', 'failed'));`);

    this.addSql(`alter table "webhook_events" add constraint "webhook_events_status_check" check ("status" in ('pending', 'processing', 'processed', 'ignored', 'parked'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "billing_events" cascade;`);
    this.addSql(`drop table if exists "customers" cascade;`);
    this.addSql(`drop table if exists "dunning_cases" cascade;`);
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
    this.addSql(`drop table if exists "invoices" cascade;`);
    this.addSql(`drop table if exists "invoice_lines" cascade;`);
    this.addSql(`drop table if exists "meters" cascade;`);
    this.addSql(`drop table if exists "milestones" cascade;`);
    this.addSql(`drop table if exists "prices" cascade;`);
    this.addSql(`drop table if exists "products" cascade;`);
    this.addSql(`drop table if exists "subscriptions" cascade;`);
    this.addSql(`drop table if exists "subscription_items" cascade;`);
    this.addSql(`drop table if exists "sync_state" cascade;`);
    this.addSql(`drop table if exists "usage_records" cascade;`);
    this.addSql(`drop table if exists "webhook_events" cascade;`);
  }

}
