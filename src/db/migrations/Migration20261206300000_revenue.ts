import { Migration } from '@mikro-orm/migrations';

/**
 * Revenue history (src/db/entities/revenue.ts): MRR points per subscription, the customers' MRR
 * movements recomputed by triggers from them and the subscription rows, and rollups per UTC day,
 * week and month for revenue reports. Subscriptions already mirrored count their stored value from
 * when they started counting (one touch of each customer's first row fires the recomputation).
 */
export class Migration20261206300000_revenue extends Migration {

  override name = 'Migration20261206300000_revenue';

  override up(): void | Promise<void> {
    this.addSql(`create table "mrr_movements" ("id" bigserial primary key, "customer_id" text not null, "currency" text not null, "at" timestamptz not null, "kind" text not null, "denominator" numeric not null, "before_num" numeric not null, "after_num" numeric not null, "day_first" boolean not null, "week_first" boolean not null, "month_first" boolean not null, "day_kept" boolean not null, "week_kept" boolean not null, "month_kept" boolean not null);`);
    this.addSql(`create index "mrr_movements_customer_id_index" on "mrr_movements" ("customer_id");`);
    this.addSql(`create index "mrr_movements_currency_at_index" on "mrr_movements" ("currency", "at");`);

    this.addSql(`create table "revenue_rollups" ("id" bigserial primary key, "grain" text not null, "period" date not null, "currency" text not null, "denominator" numeric not null, "new_num" numeric not null, "expansion_num" numeric not null, "contraction_num" numeric not null, "churned_num" numeric not null, "reactivation_num" numeric not null, "kept_num" numeric not null, "customers" bigint not null, "new_customers" bigint not null, "churned_customers" bigint not null, "reactivated_customers" bigint not null, "movements" bigint not null);`);
    this.addSql(`create index "revenue_rollups_grain_period_index" on "revenue_rollups" ("grain", "period");`);

    this.addSql(`create table "subscription_mrr_points" ("subscription_id" text not null, "at" timestamptz not null, "customer_id" text not null, "numerator" numeric not null, "denominator" numeric not null, "rank" smallint not null, primary key ("subscription_id", "at"));`);
    this.addSql(`create index "subscription_mrr_points_customer_id_index" on "subscription_mrr_points" ("customer_id");`);

    this.addSql(`create or replace function "subscriptions_revenue_history_fn"() returns trigger as \$\$ begin if tg_op = 'UPDATE'
   and old.customer_id = new.customer_id
   and old.currency = new.currency
   and old.first_counted_at is not distinct from new.first_counted_at
   and old.stopped_counting_at is not distinct from new.stopped_counting_at
   and old.mrr_numerator is not distinct from new.mrr_numerator
   and old.mrr_denominator is not distinct from new.mrr_denominator then
  return null; end if; declare
  c text;   cd numeric;   d numeric; begin
  for c in select distinct x from unnest(array[old.customer_id, new.customer_id]) x where x is not null order by 1 loop
  perform pg_advisory_xact_lock(hashtextextended('revenue:' || c, 0));   cd := 3326400000;   for d in select distinct p.denominator from subscription_mrr_points p where p.customer_id = c
           union select distinct coalesce(s.mrr_denominator, 1) from subscriptions s where s.customer_id = c loop
    if mod(cd, d) <> 0 then cd := lcm(cd, d); end if;   end loop;     with subs as (
      select s.id, lower(s.currency) as cur, s.first_counted_at as st, s.stopped_counting_at as sp,
             coalesce(s.mrr_numerator, 0) * div(cd, coalesce(s.mrr_denominator, 1)) as own
      from subscriptions s
      where s.customer_id = c and s.first_counted_at is not null
        and (s.stopped_counting_at is null or s.stopped_counting_at > s.first_counted_at)
    ),
    pts as (
      select p.subscription_id as sid, p.at, p.numerator * div(cd, p.denominator) as v
      from subscription_mrr_points p join subs on subs.id = p.subscription_id
    ),
    instants as (
      select cur, st as t from subs
      union select cur, sp from subs where sp is not null
      union select subs.cur, pts.at from pts join subs on subs.id = pts.sid where pts.at > subs.st and (subs.sp is null or pts.at < subs.sp)
    ),
    levels as (
      select i.cur, i.t,
             coalesce(sum(coalesce((select pts.v from pts where pts.sid = s.id and pts.at <= i.t order by pts.at desc limit 1),
                                   (select pts.v from pts where pts.sid = s.id order by pts.at limit 1),
                                   s.own)), 0) as lvl
      from instants i left join subs s on s.cur = i.cur and s.st <= i.t and (s.sp is null or s.sp > i.t)
      group by i.cur, i.t
    ),
    steps as (
      select cur, t, lvl, coalesce(lag(lvl) over w, 0) as prev,
             coalesce(bool_or(lvl > 0) over (w rows between unbounded preceding and 1 preceding), false) as had
      from levels window w as (partition by cur order by t)
    ),
    moves as (
      select cur, t, prev, lvl,
             case when prev = 0 and not had then 'new' when prev = 0 then 'reactivation' when lvl = 0 then 'churn'
                  when lvl > prev then 'expansion' else 'contraction' end as kind
      from steps where lvl <> prev
    ),
    fresh as (
      select cur as currency, t as at, kind, cd as denominator, prev as before_num, lvl as after_num,
             row_number() over (partition by cur, kind, date_trunc('day', t at time zone 'UTC') order by t) = 1 as day_first,
             row_number() over (partition by cur, kind, date_trunc('week', t at time zone 'UTC') order by t) = 1 as week_first,
             row_number() over (partition by cur, kind, date_trunc('month', t at time zone 'UTC') order by t) = 1 as month_first,
             first_value(prev) over (partition by cur, date_trunc('day', t at time zone 'UTC') order by t) > 0 as day_kept,
             first_value(prev) over (partition by cur, date_trunc('week', t at time zone 'UTC') order by t) > 0 as week_kept,
             first_value(prev) over (partition by cur, date_trunc('month', t at time zone 'UTC') order by t) > 0 as month_kept
      from moves
    ),
    gone as (
      delete from mrr_movements m
      where m.customer_id = c
        and not exists (select 1 from fresh f
                        where (f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept)
                            = (m.currency, m.at, m.kind, m.denominator, m.before_num, m.after_num, m.day_first, m.week_first, m.month_first, m.day_kept, m.week_kept, m.month_kept))
      returning 1
    )
    insert into mrr_movements (customer_id, currency, at, kind, denominator, before_num, after_num, day_first, week_first, month_first, day_kept, week_kept, month_kept)
    select c, f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept
    from fresh f
    where not exists (select 1 from mrr_movements m
                      where m.customer_id = c
                        and (f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept)
                          = (m.currency, m.at, m.kind, m.denominator, m.before_num, m.after_num, m.day_first, m.week_first, m.month_first, m.day_kept, m.week_kept, m.month_kept));   end loop; end; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "revenue_history" AFTER INSERT OR UPDATE OR DELETE on "subscriptions" for each ROW execute function "subscriptions_revenue_history_fn"();`);

    this.addSql(`create or replace function "mrr_movements_revenue_rollups_fn"() returns trigger as \$\$ begin if tg_op <> 'INSERT' then
  insert into revenue_rollups (grain, period, currency, denominator, new_num, expansion_num, contraction_num, churned_num, reactivation_num, kept_num, customers, new_customers, churned_customers, reactivated_customers, movements)
  select g.grain, g.period, old.currency, old.denominator,
         -(case when old.kind = 'new' then old.after_num else 0 end),
         -(case when old.kind = 'expansion' then old.after_num - old.before_num else 0 end),
         -(case when old.kind = 'contraction' then old.before_num - old.after_num else 0 end),
         -(case when old.kind = 'churn' then old.before_num else 0 end),
         -(case when old.kind = 'reactivation' then old.after_num else 0 end),
         -(case when g.kept then old.after_num - old.before_num else 0 end),
         -(case when old.kind in ('new', 'reactivation') then 1 when old.kind = 'churn' then -1 else 0 end),
         -(case when old.kind = 'new' and g.first then 1 else 0 end),
         -(case when old.kind = 'churn' and g.first then 1 else 0 end),
         -(case when old.kind = 'reactivation' and g.first then 1 else 0 end),
         -1
  from (values ('day', date_trunc('day', old.at at time zone 'UTC')::date, old.day_first, old.day_kept),
               ('week', date_trunc('week', old.at at time zone 'UTC')::date, old.week_first, old.week_kept),
               ('month', date_trunc('month', old.at at time zone 'UTC')::date, old.month_first, old.month_kept)) g (grain, period, first, kept); end if; if tg_op <> 'DELETE' then
  insert into revenue_rollups (grain, period, currency, denominator, new_num, expansion_num, contraction_num, churned_num, reactivation_num, kept_num, customers, new_customers, churned_customers, reactivated_customers, movements)
  select g.grain, g.period, new.currency, new.denominator,
         (case when new.kind = 'new' then new.after_num else 0 end),
         (case when new.kind = 'expansion' then new.after_num - new.before_num else 0 end),
         (case when new.kind = 'contraction' then new.before_num - new.after_num else 0 end),
         (case when new.kind = 'churn' then new.before_num else 0 end),
         (case when new.kind = 'reactivation' then new.after_num else 0 end),
         (case when g.kept then new.after_num - new.before_num else 0 end),
         (case when new.kind in ('new', 'reactivation') then 1 when new.kind = 'churn' then -1 else 0 end),
         (case when new.kind = 'new' and g.first then 1 else 0 end),
         (case when new.kind = 'churn' and g.first then 1 else 0 end),
         (case when new.kind = 'reactivation' and g.first then 1 else 0 end),
         1
  from (values ('day', date_trunc('day', new.at at time zone 'UTC')::date, new.day_first, new.day_kept),
               ('week', date_trunc('week', new.at at time zone 'UTC')::date, new.week_first, new.week_kept),
               ('month', date_trunc('month', new.at at time zone 'UTC')::date, new.month_first, new.month_kept)) g (grain, period, first, kept); end if; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "revenue_rollups" AFTER INSERT OR UPDATE OR DELETE on "mrr_movements" for each ROW execute function "mrr_movements_revenue_rollups_fn"();`);

    this.addSql(`create or replace function "subscription_mrr_points_revenue_points_fn"() returns trigger as \$\$ begin declare
  c text;   cd numeric;   d numeric; begin
  for c in select distinct x from unnest(array[new.customer_id]) x where x is not null order by 1 loop
  perform pg_advisory_xact_lock(hashtextextended('revenue:' || c, 0));   cd := 3326400000;   for d in select distinct p.denominator from subscription_mrr_points p where p.customer_id = c
           union select distinct coalesce(s.mrr_denominator, 1) from subscriptions s where s.customer_id = c loop
    if mod(cd, d) <> 0 then cd := lcm(cd, d); end if;   end loop;     with subs as (
      select s.id, lower(s.currency) as cur, s.first_counted_at as st, s.stopped_counting_at as sp,
             coalesce(s.mrr_numerator, 0) * div(cd, coalesce(s.mrr_denominator, 1)) as own
      from subscriptions s
      where s.customer_id = c and s.first_counted_at is not null
        and (s.stopped_counting_at is null or s.stopped_counting_at > s.first_counted_at)
    ),
    pts as (
      select p.subscription_id as sid, p.at, p.numerator * div(cd, p.denominator) as v
      from subscription_mrr_points p join subs on subs.id = p.subscription_id
    ),
    instants as (
      select cur, st as t from subs
      union select cur, sp from subs where sp is not null
      union select subs.cur, pts.at from pts join subs on subs.id = pts.sid where pts.at > subs.st and (subs.sp is null or pts.at < subs.sp)
    ),
    levels as (
      select i.cur, i.t,
             coalesce(sum(coalesce((select pts.v from pts where pts.sid = s.id and pts.at <= i.t order by pts.at desc limit 1),
                                   (select pts.v from pts where pts.sid = s.id order by pts.at limit 1),
                                   s.own)), 0) as lvl
      from instants i left join subs s on s.cur = i.cur and s.st <= i.t and (s.sp is null or s.sp > i.t)
      group by i.cur, i.t
    ),
    steps as (
      select cur, t, lvl, coalesce(lag(lvl) over w, 0) as prev,
             coalesce(bool_or(lvl > 0) over (w rows between unbounded preceding and 1 preceding), false) as had
      from levels window w as (partition by cur order by t)
    ),
    moves as (
      select cur, t, prev, lvl,
             case when prev = 0 and not had then 'new' when prev = 0 then 'reactivation' when lvl = 0 then 'churn'
                  when lvl > prev then 'expansion' else 'contraction' end as kind
      from steps where lvl <> prev
    ),
    fresh as (
      select cur as currency, t as at, kind, cd as denominator, prev as before_num, lvl as after_num,
             row_number() over (partition by cur, kind, date_trunc('day', t at time zone 'UTC') order by t) = 1 as day_first,
             row_number() over (partition by cur, kind, date_trunc('week', t at time zone 'UTC') order by t) = 1 as week_first,
             row_number() over (partition by cur, kind, date_trunc('month', t at time zone 'UTC') order by t) = 1 as month_first,
             first_value(prev) over (partition by cur, date_trunc('day', t at time zone 'UTC') order by t) > 0 as day_kept,
             first_value(prev) over (partition by cur, date_trunc('week', t at time zone 'UTC') order by t) > 0 as week_kept,
             first_value(prev) over (partition by cur, date_trunc('month', t at time zone 'UTC') order by t) > 0 as month_kept
      from moves
    ),
    gone as (
      delete from mrr_movements m
      where m.customer_id = c
        and not exists (select 1 from fresh f
                        where (f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept)
                            = (m.currency, m.at, m.kind, m.denominator, m.before_num, m.after_num, m.day_first, m.week_first, m.month_first, m.day_kept, m.week_kept, m.month_kept))
      returning 1
    )
    insert into mrr_movements (customer_id, currency, at, kind, denominator, before_num, after_num, day_first, week_first, month_first, day_kept, week_kept, month_kept)
    select c, f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept
    from fresh f
    where not exists (select 1 from mrr_movements m
                      where m.customer_id = c
                        and (f.currency, f.at, f.kind, f.denominator, f.before_num, f.after_num, f.day_first, f.week_first, f.month_first, f.day_kept, f.week_kept, f.month_kept)
                          = (m.currency, m.at, m.kind, m.denominator, m.before_num, m.after_num, m.day_first, m.week_first, m.month_first, m.day_kept, m.week_kept, m.month_kept));   end loop; end; return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "revenue_points" AFTER INSERT OR UPDATE on "subscription_mrr_points" for each ROW execute function "subscription_mrr_points_revenue_points_fn"();`);

    // Existing subscriptions: a point with their stored value at their start, which fires the recomputation per customer.
    this.addSql(`insert into subscription_mrr_points (subscription_id, at, customer_id, numerator, denominator, rank)
select s.id, s.first_counted_at, s.customer_id, coalesce(s.mrr_numerator, 0), coalesce(s.mrr_denominator, 1), 0
from subscriptions s where s.first_counted_at is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "revenue_rollups" on "mrr_movements";`);
    this.addSql(`drop function if exists "mrr_movements_revenue_rollups_fn"();`);
    this.addSql(`drop table if exists "mrr_movements" cascade;`);
    this.addSql(`drop table if exists "revenue_rollups" cascade;`);
    this.addSql(`drop trigger if exists "revenue_points" on "subscription_mrr_points";`);
    this.addSql(`drop function if exists "subscription_mrr_points_revenue_points_fn"();`);
    this.addSql(`drop table if exists "subscription_mrr_points" cascade;`);

    this.addSql(`drop trigger if exists "revenue_history" on "subscriptions";`);
    this.addSql(`drop function if exists "subscriptions_revenue_history_fn"();`);
  }

}
