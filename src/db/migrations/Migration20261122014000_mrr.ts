import { Migration } from '@mikro-orm/migrations';

/**
 * Incremental MRR (src/billing/metrics/mrr-totals.ts): each subscription's exact MRR as a fraction, the
 * moments it started and stopped counting, and `mrr_totals`, signed deltas kept by a trigger on
 * `subscriptions`, so every write path (mirror upserts, deletes, raw SQL) keeps the totals in step.
 * Rows written before this migration have no fraction yet: they count as subscriptions with 0 MRR
 * until the next mirror write (`sync --full` rewrites them all and rebuilds the totals).
 */
export class Migration20261122014000_mrr extends Migration {

  override name = 'Migration20261122014000_mrr';

  override up(): void | Promise<void> {
    this.addSql(`alter table "subscriptions" add column "mrr_numerator" numeric null, add column "mrr_denominator" numeric null, add column "first_counted_at" timestamptz null, add column "stopped_counting_at" timestamptz null;`);

    this.addSql(`create table "mrr_totals" ("id" bigserial primary key, "kind" text not null, "month" date null, "currency" text not null, "plan_id" text not null, "denominator" numeric not null, "numerator" numeric not null, "subscriptions" bigint not null);`);
    this.addSql(`create index "mrr_totals_kind_month_index" on "mrr_totals" ("kind", "month");`);

    // Triggers as the entity declares them (src/db/entities/subscription.ts says what they do and why).
    this.addSql(`create or replace function "subscriptions_mrr_moments_fn"() returns trigger as $$ begin
if new.status in ('active', 'past_due') or new.status = 'unpaid'
   or (new.status in ('canceled', 'paused') and coalesce(new.ended_at, new.canceled_at, new.trial_end) > coalesce(new.trial_end, new.created_at)) then
  new.first_counted_at := greatest(new.created_at, coalesce(new.trial_end, new.created_at));
else
  new.first_counted_at := null;
end if;
if new.first_counted_at is not null and not (new.status in ('active', 'past_due')) then
  new.stopped_counting_at := coalesce(new.ended_at, new.canceled_at, new.last_event_at, new.first_counted_at);
else
  new.stopped_counting_at := null;
end if;
return new; end; $$ language plpgsql;`);
    this.addSql(`create trigger "mrr_moments" BEFORE INSERT OR UPDATE on "subscriptions" for each ROW execute function "subscriptions_mrr_moments_fn"();`);
    this.addSql(`create or replace function "subscriptions_mrr_totals_fn"() returns trigger as $$ begin if tg_op = 'UPDATE'
   and (old.status in ('active', 'past_due')) = (new.status in ('active', 'past_due'))
   and old.currency = new.currency
   and old.plan_id is not distinct from new.plan_id
   and old.mrr_numerator is not distinct from new.mrr_numerator
   and old.mrr_denominator is not distinct from new.mrr_denominator
   and old.first_counted_at is not distinct from new.first_counted_at
   and old.stopped_counting_at is not distinct from new.stopped_counting_at then
  return null; end if; if tg_op <> 'INSERT' then
  insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
  select b.kind, b.month, lower(old.currency), coalesce(old.plan_id, ''), coalesce(old.mrr_denominator, 1), -coalesce(old.mrr_numerator, 0), -1
  from (values ('active', null::date, old.status in ('active', 'past_due')),
               ('new', date_trunc('month', old.first_counted_at at time zone 'UTC')::date, old.first_counted_at is not null),
               ('churned', date_trunc('month', old.stopped_counting_at at time zone 'UTC')::date, old.stopped_counting_at is not null)) b (kind, month, applies)
  where b.applies; end if; if tg_op <> 'DELETE' then
  insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
  select b.kind, b.month, lower(new.currency), coalesce(new.plan_id, ''), coalesce(new.mrr_denominator, 1), coalesce(new.mrr_numerator, 0), 1
  from (values ('active', null::date, new.status in ('active', 'past_due')),
               ('new', date_trunc('month', new.first_counted_at at time zone 'UTC')::date, new.first_counted_at is not null),
               ('churned', date_trunc('month', new.stopped_counting_at at time zone 'UTC')::date, new.stopped_counting_at is not null)) b (kind, month, applies)
  where b.applies; end if; return null; end; $$ language plpgsql;`);
    this.addSql(`create trigger "mrr_totals" AFTER INSERT OR UPDATE OR DELETE on "subscriptions" for each ROW execute function "subscriptions_mrr_totals_fn"();`);

    // Signals read the last MRR_UPDATED per currency after each MRR change: an index, not a scan of every event.
    this.addSql(`create index "billing_events_mrr_updated_index" on "billing_events" ("currency", "created_at") where type = 'MRR_UPDATED';`);

    // Rows already mirrored: the moments trigger fills their start and stop (their fraction arrives with their next write).
    this.addSql(`update "subscriptions" set "status" = "status";`);
    this.addSql(`delete from "mrr_totals";`);
    // The same statement as REBUILD_MRR_TOTALS_SQL (src/billing/metrics/mrr-totals.ts), copied by hand: keep them identical.
    this.addSql(`insert into mrr_totals (kind, month, currency, plan_id, denominator, numerator, subscriptions)
select b.kind, b.month, lower(s.currency), coalesce(s.plan_id, ''), coalesce(s.mrr_denominator, 1), sum(coalesce(s.mrr_numerator, 0)), count(*)
from subscriptions s
cross join lateral (values ('active', null::date, s.status in ('active', 'past_due')),
               ('new', date_trunc('month', s.first_counted_at at time zone 'UTC')::date, s.first_counted_at is not null),
               ('churned', date_trunc('month', s.stopped_counting_at at time zone 'UTC')::date, s.stopped_counting_at is not null)) b (kind, month, applies)
where b.applies
group by 1, 2, 3, 4, 5`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "mrr_totals" on "subscriptions";`);
    this.addSql(`drop trigger if exists "mrr_moments" on "subscriptions";`);
    this.addSql(`drop function if exists "subscriptions_mrr_totals_fn"();`);
    this.addSql(`drop function if exists "subscriptions_mrr_moments_fn"();`);
    this.addSql(`drop index if exists "billing_events_mrr_updated_index";`);
    this.addSql(`drop table if exists "mrr_totals" cascade;`);
    this.addSql(`alter table "subscriptions" drop column "mrr_numerator", drop column "mrr_denominator", drop column "first_counted_at", drop column "stopped_counting_at";`);
  }

}
