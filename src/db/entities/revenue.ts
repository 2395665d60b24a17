import { defineEntity, p, Routine } from '@mikro-orm/core';

/**
 * Revenue history (src/billing/metrics/revenue.ts reads it). Three tables, each kept by the database:
 *
 * - `subscription_mrr_points`: what a subscription's MRR was at a moment of the customer's clock (one
 *   row per subscription and moment, written by the mirror from each copy of the subscription it sees).
 *   Together with the row's own start and stop of counting (`first_counted_at`, `stopped_counting_at`,
 *   read from Stripe's state, not from arrival order), they define the subscription's MRR over time.
 * - `mrr_movements`: the customer's MRR changes per currency (new, expansion, contraction, churn,
 *   reactivation), recomputed for the whole customer (`revenueChangedSql`, in triggers) whenever one of its
 *   points or subscriptions changes, so they depend only on the set of points and the converged rows,
 *   never on the order in which events arrived.
 * - `revenue_rollups`: signed deltas per UTC day, week and month, written by a trigger on
 *   `mrr_movements` (insert-only, like `mrr_totals`), so a report reads a few rows per interval.
 *
 * Amounts are exact: numerators over `denominator` minor units per month.
 */

/** A movement's kind (docs/revenue.md: new, expansion, contraction, churn, reactivation). */
export type MrrMovementKind = 'new' | 'expansion' | 'contraction' | 'churn' | 'reactivation';

/** The grains of `revenue_rollups`, as PostgreSQL's `date_trunc` names them (weeks start on Monday). */
export const REVENUE_GRAINS = ['day', 'week', 'month'] as const;
export type RevenueGrain = (typeof REVENUE_GRAINS)[number];

/** SQL: the UTC start (a date) of the `grain` period holding the timestamptz `column`. */
export const periodOfSql = (grain: RevenueGrain, column: string) => `date_trunc('${grain}', ${column} at time zone 'UTC')::date`;

/** The columns of `revenue_rollups` a movement adds to, after (grain, period, currency, denominator). */
export const ROLLUP_COLUMNS = 'new_num, expansion_num, contraction_num, churned_num, reactivation_num, kept_num, customers, new_customers, churned_customers, reactivated_customers, movements';

/**
 * What one `mrr_movements` row (`row`: a table alias, or `new` / `old` in a trigger) adds to each of
 * ROLLUP_COLUMNS in the period `g` (grain, period, first, kept), as SQL expressions. One definition for
 * the trigger and the rebuild (src/billing/metrics/revenue.ts).
 */
export const rollupValuesSql = (row: string): string[] => [
  `(case when ${row}.kind = 'new' then ${row}.after_num else 0 end)`,
  `(case when ${row}.kind = 'expansion' then ${row}.after_num - ${row}.before_num else 0 end)`,
  `(case when ${row}.kind = 'contraction' then ${row}.before_num - ${row}.after_num else 0 end)`,
  `(case when ${row}.kind = 'churn' then ${row}.before_num else 0 end)`,
  `(case when ${row}.kind = 'reactivation' then ${row}.after_num else 0 end)`,
  `(case when g.kept then ${row}.after_num - ${row}.before_num else 0 end)`,
  `(case when ${row}.kind in ('new', 'reactivation') then 1 when ${row}.kind = 'churn' then -1 else 0 end)`,
  `(case when ${row}.kind = 'new' and g.first then 1 else 0 end)`,
  `(case when ${row}.kind = 'churn' and g.first then 1 else 0 end)`,
  `(case when ${row}.kind = 'reactivation' and g.first then 1 else 0 end)`,
  '1',
];

/** The periods of one movement row as a derived table `g (grain, period, first, kept)`. */
export const rollupPeriodsSql = (row: string) => `(values ('day', ${periodOfSql('day', `${row}.at`)}, ${row}.day_first, ${row}.day_kept),
               ('week', ${periodOfSql('week', `${row}.at`)}, ${row}.week_first, ${row}.week_kept),
               ('month', ${periodOfSql('month', `${row}.at`)}, ${row}.month_first, ${row}.month_kept)) g (grain, period, first, kept)`;

/** The rollup deltas of one `mrr_movements` row version (`new` with sign '', `old` with sign '-'). */
const rollupDelta = (row: 'new' | 'old', sign: '' | '-') => `
  insert into revenue_rollups (grain, period, currency, denominator, ${ROLLUP_COLUMNS})
  select g.grain, g.period, ${row}.currency, ${row}.denominator,
         ${rollupValuesSql(row).map((e) => `${sign}${e}`).join(',\n         ')}
  from ${rollupPeriodsSql(row)};`;

const ROLLUP_TRIGGER_BODY = `
if tg_op <> 'INSERT' then${rollupDelta('old', '-')}
end if;
if tg_op <> 'DELETE' then${rollupDelta('new', '')}
end if;
return null;`;

/**
 * PL/pgSQL: recomputes the MRR movements of each customer id in the array expression `customers`, from
 * its subscriptions (when each started and stopped counting, read from Stripe's state by the
 * `mrr_moments` trigger) and their MRR points (what each was worth from when on; before its first point,
 * the first point's value). Only the movements that differ are deleted and inserted, so the rollup
 * trigger sees just the change. Serialised per customer: two transactions writing subscriptions of one
 * customer would otherwise each recompute from a snapshot without the other's write. Amounts go over one
 * denominator per customer (MRR_DENOMINATOR, src/mrr/stored.ts, widened by lcm for a value that has its
 * own), so sums stay exact.
 */
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

/** The customers the transaction noted for a later recomputation: ids, each followed by a comma (Stripe ids hold none). */
const PENDING = `coalesce(current_setting('billing.revenue_pending', true), '')`;

const VOID = { runtimeType: 'any', columnType: 'void', nullable: true } as const;

/**
 * The database functions of the revenue history. Both triggers call `revenue_changed(customers)`
 * (`revenueChangedSql`), which recomputes at once (`revenue_refresh`), unless the transaction has set
 * `billing.revenue_deferred` to `on`, as the webhook worker's batches do: then it only notes the
 * customers, and `revenue_flush(customer)` recomputes them later in the same transaction, one customer
 * before its movements are read (`revenue_movement_kind`), all of them (null) before the batch ends.
 * A recomputation depends only on the rows it reads, so one at the end gives what one per write gave,
 * and a batch's subscription events no longer recompute their customer twice each (row, then point).
 */
export const REVENUE_ROUTINES = [
  new Routine({ name: 'revenue_refresh', type: 'function', language: 'plpgsql', params: { customers: { type: 'text[]' } }, returns: VOID, body: refreshSql('customers') }),
  new Routine({
    name: 'revenue_changed',
    type: 'function',
    language: 'plpgsql',
    params: { customers: { type: 'text[]' } },
    returns: VOID,
    body: `declare
  c text;
  pending text;
begin
  if current_setting('billing.revenue_deferred', true) is distinct from 'on' then
    perform revenue_refresh(customers);
    return;
  end if;
  pending := ${PENDING};
  for c in select distinct x from unnest(customers) x where x is not null loop
    if position(',' || c || ',' in ',' || pending) = 0 then pending := pending || c || ','; end if;
  end loop;
  perform set_config('billing.revenue_pending', pending, true);
end;`,
  }),
  new Routine({
    name: 'revenue_flush',
    type: 'function',
    language: 'plpgsql',
    params: { customer: { type: 'text' } },
    returns: VOID,
    body: `declare
  pending text := ${PENDING};
begin
  if pending = '' then return; end if;
  if customer is null then
    perform set_config('billing.revenue_pending', '', true);
    perform revenue_refresh(string_to_array(rtrim(pending, ','), ','));
  elsif position(',' || customer || ',' in ',' || pending) > 0 then
    perform set_config('billing.revenue_pending', ltrim(replace(',' || pending, ',' || customer || ',', ','), ','), true);
    perform revenue_refresh(array[customer]);
  end if;
end;`,
  }),
  new Routine({
    name: 'revenue_movement_kind',
    type: 'function',
    language: 'plpgsql',
    params: { customer: { type: 'text' }, cur: { type: 'text' }, until: { type: 'timestamptz' } },
    returns: { runtimeType: 'string', columnType: 'text', nullable: true },
    body: `begin
  perform revenue_flush(customer);
  return (select m.kind from mrr_movements m where m.customer_id = customer and m.currency = cur and m.at <= until order by m.at desc limit 1);
end;`,
  }),
];

/** A trigger body's statement: the movements of the customers in the array expression `customers` are to be recomputed (above). */
export const revenueChangedSql = (customers: string) => `perform revenue_changed(${customers});`;

export const SubscriptionMrrPointSchema = defineEntity({
  name: 'SubscriptionMrrPoint',
  tableName: 'subscription_mrr_points',
  properties: {
    subscriptionId: p.text().primary(),
    /** The moment on the customer's clock this value was true at (an event's `created`, or the clock's now). */
    at: p.datetime().primary(),
    customerId: p.text(),
    numerator: p.decimal('string').columnType('numeric'),
    denominator: p.decimal('string').columnType('numeric'),
    /**
     * Which copy wins when two give a value for the same moment (a same-second tie): a current read
     * (4) over a deletion event (3) over an update (2) over a creation (1); then the larger value.
     */
    rank: p.smallint(),
  },
  indexes: [{ name: 'subscription_mrr_points_customer_id_index', properties: ['customerId'] }],
  // Per statement, so a statement of many points recomputes each customer once. Transition tables are
  // allowed on triggers of one event only: one trigger per event, one function.
  triggers: [
    {
      name: 'revenue_points',
      timing: 'after',
      events: ['insert'],
      expression: `create or replace function "subscription_mrr_points_revenue_points_fn"() returns trigger as $$ begin ${revenueChangedSql('array(select distinct customer_id from new_points)')}
return null; end; $$ language plpgsql;
create trigger "revenue_points" after insert on "subscription_mrr_points" referencing new table as "new_points" for each statement execute function "subscription_mrr_points_revenue_points_fn"();`,
    },
    {
      name: 'revenue_points_update',
      timing: 'after',
      events: ['update'],
      expression: `create trigger "revenue_points_update" after update on "subscription_mrr_points" referencing new table as "new_points" for each statement execute function "subscription_mrr_points_revenue_points_fn"();`,
    },
  ],
});

export class SubscriptionMrrPoint extends SubscriptionMrrPointSchema.class {}
SubscriptionMrrPointSchema.setClass(SubscriptionMrrPoint);

export const MrrMovementSchema = defineEntity({
  name: 'MrrMovement',
  tableName: 'mrr_movements',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    customerId: p.text(),
    currency: p.text(),
    at: p.datetime(),
    kind: p.text().$type<MrrMovementKind>(),
    denominator: p.decimal('string').columnType('numeric'),
    /** The customer's MRR in this currency just before and from `at` on (numerators over `denominator`). */
    beforeNum: p.decimal('string').columnType('numeric'),
    afterNum: p.decimal('string').columnType('numeric'),
    /** The customer's first movement of this kind in the UTC day / week / month (distinct customer counts). */
    dayFirst: p.boolean(),
    weekFirst: p.boolean(),
    monthFirst: p.boolean(),
    /** The customer had MRR at the start of the UTC day / week / month (net revenue retention). */
    dayKept: p.boolean(),
    weekKept: p.boolean(),
    monthKept: p.boolean(),
  },
  indexes: [
    { name: 'mrr_movements_customer_id_index', properties: ['customerId'] },
    { name: 'mrr_movements_currency_at_index', properties: ['currency', 'at'] },
  ],
  triggers: [{ name: 'revenue_rollups', timing: 'after', events: ['insert', 'update', 'delete'], forEach: 'row', body: ROLLUP_TRIGGER_BODY }],
});

export class MrrMovement extends MrrMovementSchema.class {}
MrrMovementSchema.setClass(MrrMovement);

export const RevenueRollupSchema = defineEntity({
  name: 'RevenueRollup',
  tableName: 'revenue_rollups',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    grain: p.text().$type<RevenueGrain>(),
    /** First day (UTC) of the period. */
    period: p.date(),
    currency: p.text(),
    denominator: p.decimal('string').columnType('numeric'),
    newNum: p.decimal('string').columnType('numeric'),
    expansionNum: p.decimal('string').columnType('numeric'),
    /** Positive amounts. */
    contractionNum: p.decimal('string').columnType('numeric'),
    churnedNum: p.decimal('string').columnType('numeric'),
    reactivationNum: p.decimal('string').columnType('numeric'),
    /** The net change of customers who had MRR at the period's start. */
    keptNum: p.decimal('string').columnType('numeric'),
    /** Change of the number of customers with MRR. */
    customers: p.bigint('number'),
    newCustomers: p.bigint('number'),
    churnedCustomers: p.bigint('number'),
    reactivatedCustomers: p.bigint('number'),
    movements: p.bigint('number'),
  },
  indexes: [{ name: 'revenue_rollups_grain_period_index', properties: ['grain', 'period'] }],
});

export class RevenueRollup extends RevenueRollupSchema.class {}
RevenueRollupSchema.setClass(RevenueRollup);
