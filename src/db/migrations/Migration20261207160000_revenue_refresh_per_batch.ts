import { Migration } from '@mikro-orm/migrations';

/**
 * The revenue history recomputed once per customer and webhook batch instead of after every write
 * (src/db/entities/revenue.ts, `REVENUE_ROUTINES`): both triggers call `revenue_changed`, which a
 * transaction that set `billing.revenue_deferred` turns into a note that `revenue_flush` acts on.
 * Before, each subscription event the worker applied recomputed its customer twice (the row, then its
 * MRR point).
 */

/** The recomputation the triggers ran inline before (and run again after `down`), as it stood then. */
const refreshSql = (customers: string) => `
declare
  c text;
  cd numeric;
  d numeric;
begin
  for c in select distinct x from unnest(${customers}) x where x is not null order by 1 loop
  perform pg_advisory_xact_lock(hashtextextended('revenue:' || c, 0));
  cd := 3326400000;
  for d in select distinct p.denominator from subscription_mrr_points p where p.customer_id = c
           union select distinct coalesce(s.mrr_denominator, 1) from subscriptions s where s.customer_id = c loop
    if mod(cd, d) <> 0 then cd := lcm(cd, d); end if;
  end loop;
    with subs as (
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
                          = (m.currency, m.at, m.kind, m.denominator, m.before_num, m.after_num, m.day_first, m.week_first, m.month_first, m.day_kept, m.week_kept, m.month_kept));
  end loop;
end;`;

/** The subscriptions trigger's first step, the same before and after: an update that keeps every input of the history changes nothing. */
const UNCHANGED = `if tg_op = 'UPDATE'
   and old.customer_id = new.customer_id
   and old.currency = new.currency
   and old.first_counted_at is not distinct from new.first_counted_at
   and old.stopped_counting_at is not distinct from new.stopped_counting_at
   and old.mrr_numerator is not distinct from new.mrr_numerator
   and old.mrr_denominator is not distinct from new.mrr_denominator then
  return null; end if;`;

export class Migration20261207160000_revenue_refresh_per_batch extends Migration {

  override name = 'Migration20261207160000_revenue_refresh_per_batch';

  override up(): void | Promise<void> {
    this.addSql(`drop trigger if exists "revenue_history" on "subscriptions";`);
    this.addSql(`drop function if exists "subscriptions_revenue_history_fn"();`);
    this.addSql(`create or replace function "subscriptions_revenue_history_fn"() returns trigger as \$\$ begin ${UNCHANGED} perform revenue_changed(array[old.customer_id, new.customer_id]); return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "revenue_history" AFTER INSERT OR UPDATE OR DELETE on "subscriptions" for each ROW execute function "subscriptions_revenue_history_fn"();`);

    this.addSql(`create or replace function "revenue_refresh"("customers" text[]) returns void language plpgsql as \$\$ begin ${refreshSql('customers')} end \$\$;`);

    this.addSql(`create or replace function "revenue_changed"("customers" text[]) returns void language plpgsql as \$\$ begin declare
  c text;   pending text; begin
  if current_setting('billing.revenue_deferred', true) is distinct from 'on' then
    perform revenue_refresh(customers);     return;   end if;   pending := coalesce(current_setting('billing.revenue_pending', true), '');   for c in select distinct x from unnest(customers) x where x is not null loop
    if position(',' || c || ',' in ',' || pending) = 0 then pending := pending || c || ','; end if;   end loop;   perform set_config('billing.revenue_pending', pending, true); end; end \$\$;`);

    this.addSql(`create or replace function "revenue_flush"("customer" text) returns void language plpgsql as \$\$ begin declare
  pending text := coalesce(current_setting('billing.revenue_pending', true), ''); begin
  if pending = '' then return; end if;   if customer is null then
    perform set_config('billing.revenue_pending', '', true);     perform revenue_refresh(string_to_array(rtrim(pending, ','), ','));   elsif position(',' || customer || ',' in ',' || pending) > 0 then
    perform set_config('billing.revenue_pending', ltrim(replace(',' || pending, ',' || customer || ',', ','), ','), true);     perform revenue_refresh(array[customer]);   end if; end; end \$\$;`);

    this.addSql(`create or replace function "revenue_movement_kind"("customer" text, "cur" text, "until" timestamptz) returns text language plpgsql as \$\$ begin
  perform revenue_flush(customer);   return (select m.kind from mrr_movements m where m.customer_id = customer and m.currency = cur and m.at <= until order by m.at desc limit 1); end; \$\$;`);
    // Not diffed by the schema check (declared as an expression on the entity): written here by hand.
    this.addSql(`create or replace function "subscription_mrr_points_revenue_points_fn"() returns trigger as \$\$ begin perform revenue_changed(array(select distinct customer_id from new_points));
return null; end; \$\$ language plpgsql;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "revenue_history" on "subscriptions";`);
    this.addSql(`drop function if exists "subscriptions_revenue_history_fn"();`);
    this.addSql(`create or replace function "subscriptions_revenue_history_fn"() returns trigger as \$\$ begin ${UNCHANGED} ${refreshSql('array[old.customer_id, new.customer_id]')}
return null; end; \$\$ language plpgsql;`);
    this.addSql(`create trigger "revenue_history" AFTER DELETE OR INSERT OR UPDATE on "subscriptions" for each ROW execute function "subscriptions_revenue_history_fn"();`);

    this.addSql(`create or replace function "subscription_mrr_points_revenue_points_fn"() returns trigger as \$\$ begin ${refreshSql('array(select distinct customer_id from new_points)')}
return null; end; \$\$ language plpgsql;`);

    this.addSql(`drop function if exists "revenue_refresh"(text[]);`);

    this.addSql(`drop function if exists "revenue_changed"(text[]);`);

    this.addSql(`drop function if exists "revenue_flush"(text);`);

    this.addSql(`drop function if exists "revenue_movement_kind"(text, text, timestamptz);`);
  }

}
