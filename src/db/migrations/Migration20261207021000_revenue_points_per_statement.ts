import { Migration } from '@mikro-orm/migrations';

/**
 * The revenue history's points trigger per statement instead of per row: a statement that writes many
 * MRR points (a page of `sync --full`'s revenue history) recomputes each of their customers' movements
 * once, not once per point (about 850 recomputations for 150 customers before). A statement of one
 * point, as the webhook worker writes them, costs what it did. PostgreSQL allows transition tables on
 * triggers of one event only, hence one trigger for inserts and one for updates (an upsert fires both,
 * each with its own rows).
 */
/**
 * The points trigger's function (as the revenue migration wrote it) over the customers of the array
 * expression `customers`: `new.customer_id` per row, or the statement's `new_points`.
 */
const pointsFunction = (customers: string) => `create or replace function "subscription_mrr_points_revenue_points_fn"() returns trigger as \$\$ begin declare
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
end;
return null; end; \$\$ language plpgsql;`;

export class Migration20261207021000_revenue_points_per_statement extends Migration {

  override name = 'Migration20261207021000_revenue_points_per_statement';

  override up(): void | Promise<void> {
    this.addSql(`drop trigger if exists "revenue_points" on "subscription_mrr_points";`);
    this.addSql(pointsFunction('array(select distinct customer_id from new_points)'));
    this.addSql(`create trigger "revenue_points" after insert on "subscription_mrr_points" referencing new table as "new_points" for each statement execute function "subscription_mrr_points_revenue_points_fn"();`);
    this.addSql(`create trigger "revenue_points_update" after update on "subscription_mrr_points" referencing new table as "new_points" for each statement execute function "subscription_mrr_points_revenue_points_fn"();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "revenue_points_update" on "subscription_mrr_points";`);
    this.addSql(`drop trigger if exists "revenue_points" on "subscription_mrr_points";`);
    this.addSql(pointsFunction('array[new.customer_id]'));
    this.addSql(`create trigger "revenue_points" AFTER INSERT OR UPDATE on "subscription_mrr_points" for each ROW execute function "subscription_mrr_points_revenue_points_fn"();`);
  }

}
