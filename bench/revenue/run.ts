/**
 * Revenue over time at a million subscriptions: seeds its own database on `ctx.databaseUrl` with
 * 1,000,000 subscriptions (one customer each, 3 currencies, basic / pro / pro_yearly, 1–5 seats)
 * and 24 months of their MRR movements (every subscription new at its start; some expand or contract,
 * some churn, some of those come back), builds the rollups with the production rebuild
 * (`rebuildRevenueRollups`), starts the real gateway (`dist/src/main.js`) on it and measures
 * `Query.revenue` over the last 24 months (MONTH points, every currency) over HTTP: p50/p99 of
 * --requests sequential requests after a warm-up. Baseline, same run: the same figures from one
 * `GROUP BY` over the raw movements (then the same point arithmetic, `pointsOf`), p50 of 4 runs after one warm-up; the
 * two answers are compared figure by figure.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/revenue/run.ts \
 *     [--subscriptions 1000000] [--requests 200] [--database-url postgres://…]
 *
 * Seeding runs in PostgreSQL (`generate_series`, one multi-row insert per chunk, triggers off: the
 * rollups are then built once by the rebuild).
 */
import { loadDist } from '../lib/dist.ts';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
import { numberOptions, runIfMain } from '../lib/report.ts';
import { seedInChunks, withSeededGateway } from '../lib/seeded-gateway.ts';
import { pct, round1, timeSequential } from '../lib/stats.ts';

const D = 3_326_400_000n; // MRR_DENOMINATOR

/** Subscriptions $1..$2 and their movements. `$3`: the start of the history (24 months before this month). */
const SEED_SQL = `
with s as (
  select g,
         (array['usd', 'eur', 'gbp'])[1 + g % 3] as currency,
         (array['basic_monthly', 'pro_monthly', 'pro_yearly'])[1 + (g / 3) % 3] as plan,
         (array[${100n * D}, ${500n * D}, ${(5000n * D) / 12n}])[1 + (g / 3) % 3]::numeric * (1 + (g / 9) % 5) as v,
         $3::timestamptz + ((g * 7919) % greatest(1, extract(epoch from now() - $3::timestamptz)::bigint)) * interval '1 second' as created
  from generate_series($1::bigint, $2::bigint) g
), m as (
  select s.*,
         case when g % 10 < 3 then created + (30 + g % 150) * interval '1 day' end as changed_at,
         case when g % 10 = 9 then created + (60 + g % 100) * interval '1 day' end as churned_at,
         case when g % 20 = 19 then created + (160 + g % 100) * interval '1 day' end as back_at
  from s
), subs as (
  insert into subscriptions (id, customer_id, status, plan_id, currency, created_at, raw, mrr_amount, mrr_numerator, mrr_denominator,
                             first_counted_at, stopped_counting_at, canceled_at, ended_at)
  select 'sub_seed_' || g, 'cus_seed_' || g,
         case when churned_at < now() and not coalesce(back_at < now(), false) then 'canceled' else 'active' end,
         plan, currency, created, '{}'::jsonb, floor(v / ${D})::int, v, ${D}, created,
         case when churned_at < now() and not coalesce(back_at < now(), false) then churned_at end,
         case when churned_at < now() and not coalesce(back_at < now(), false) then churned_at end,
         case when churned_at < now() and not coalesce(back_at < now(), false) then churned_at end
  from m
  returning 1
)
insert into mrr_movements (customer_id, currency, at, kind, denominator, before_num, after_num, day_first, week_first, month_first, day_kept, week_kept, month_kept)
select 'cus_seed_' || m.g, m.currency, x.at, x.kind, ${D}, x.b, x.a, true, true, true, x.b > 0, x.b > 0, x.b > 0
from m cross join lateral (values
  (m.created, 'new', 0::numeric, m.v),
  (m.changed_at, case when m.g % 2 = 0 then 'expansion' else 'contraction' end, m.v, case when m.g % 2 = 0 then 2 * m.v else div(m.v, 2) end),
  (m.churned_at, 'churn', m.v, 0::numeric),
  (m.back_at, 'reactivation', 0::numeric, m.v)) x (at, kind, b, a)
where x.at is not null and x.at < now()`;

/** The baseline: the report's sums straight from the movements, one GROUP BY. `$1` first period, `$2` end. */
const BASELINE_SQL = `
select currency,
       case when date_trunc('month', at at time zone 'UTC') < $1::timestamp then null else to_char(date_trunc('month', at at time zone 'UTC'), 'YYYY-MM-DD') end as period,
       denominator::text as denominator,
       sum(case when kind = 'new' then after_num else 0 end)::text as new_num,
       sum(case when kind = 'expansion' then after_num - before_num else 0 end)::text as expansion_num,
       sum(case when kind = 'contraction' then before_num - after_num else 0 end)::text as contraction_num,
       sum(case when kind = 'churn' then before_num else 0 end)::text as churned_num,
       sum(case when kind = 'reactivation' then after_num else 0 end)::text as reactivation_num,
       sum(case when month_kept then after_num - before_num else 0 end)::text as kept_num,
       sum(case when kind in ('new', 'reactivation') then 1 when kind = 'churn' then -1 else 0 end) as customers,
       sum(case when kind = 'new' and month_first then 1 else 0 end) as new_customers,
       sum(case when kind = 'churn' and month_first then 1 else 0 end) as churned_customers,
       sum(case when kind = 'reactivation' and month_first then 1 else 0 end) as reactivated_customers,
       count(*) as r
from mrr_movements
where at < $2::timestamptz
group by 1, 2, 3`;

const REVENUE_QUERY = /* GraphQL */ `query ($from: DateTime!, $to: DateTime!) {
  revenue(from: $from, to: $to, interval: MONTH) {
    periodStart periodEnd currency
    mrr { amount } newMrr { amount } expansionMrr { amount } contractionMrr { amount } churnedMrr { amount } reactivationMrr { amount } netNewMrr { amount }
    customers newCustomers churnedCustomers reactivatedCustomers arpa { amount }
    customerChurnRate grossMrrChurnRate netRevenueRetention
  }
}`;

interface GqlPoint {
  periodStart: string;
  currency: string;
  mrr: { amount: number };
  newMrr: { amount: number };
  expansionMrr: { amount: number };
  contractionMrr: { amount: number };
  churnedMrr: { amount: number };
  reactivationMrr: { amount: number };
  netNewMrr: { amount: number };
  customers: number;
  newCustomers: number;
  churnedCustomers: number;
  reactivatedCustomers: number;
  arpa: { amount: number };
  customerChurnRate: number | null;
  grossMrrChurnRate: number | null;
  netRevenueRetention: number | null;
}

export const part: BenchPart = {
  name: 'revenue',
  description: 'Query.revenue (24 MONTH points) with 1,000,000 subscriptions and 24 months of movements, against one GROUP BY over the raw movements',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const { subscriptions: total, requests } = numberOptions(ctx, { subscriptions: 1_000_000, requests: 200 });
    return withSeededGateway(ctx.databaseUrl, async ({ databaseUrl, client, startGateway }) => {
      const [{ openOrm, closeOrm }, revenue] = await Promise.all([
        loadDist<typeof import('../../src/db/orm.js')>('db/orm'),
        loadDist<typeof import('../../src/billing/metrics/revenue.js')>('billing/metrics/revenue'),
      ]);
      const now = new Date();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 24, 1));
      const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

      const seedSeconds = await seedInChunks(client, {
        label: 'subscriptions and movements',
        total,
        triggersOff: ['subscriptions', 'mrr_movements'],
        analyze: ['subscriptions', 'mrr_movements'],
        chunk: (lo, hi) => client.query(SEED_SQL, [lo, hi, from.toISOString()]),
      });
      const movements = Number((await client.query<{ n: string }>('select count(*) as n from mrr_movements')).rows[0]!.n);
      ctx.log(`seeded ${total.toLocaleString('en-US')} subscriptions and ${movements.toLocaleString('en-US')} movements in ${seedSeconds.toFixed(1)} s`);

      const orm = await openOrm({ databaseUrl, migrate: false });
      let rebuildSeconds: number;
      try {
        const t0 = performance.now();
        await revenue.rebuildRevenueRollups(orm.em.fork());
        rebuildSeconds = (performance.now() - t0) / 1000;
      } finally {
        await closeOrm(orm);
      }
      await client.query('analyze revenue_rollups');
      ctx.log(`rollups rebuilt in ${rebuildSeconds.toFixed(1)} s`);

      // Baseline: one GROUP BY over the raw movements, then the same point arithmetic.
      const starts = revenue.periodStarts(from, to, 'month');
      const baselineTimes: number[] = [];
      let expected: ReturnType<typeof revenue.pointsOf> = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const rows = (await client.query(BASELINE_SQL, [from.toISOString().slice(0, 10), to.toISOString()])).rows;
        expected = revenue.pointsOf(rows, starts, 'month', null);
        if (i > 0) baselineTimes.push(performance.now() - t);
      }
      baselineTimes.sort((a, b) => a - b);

      const gateway = await startGateway();
      const ask = async () => (await gateway<{ revenue: GqlPoint[] }>(REVENUE_QUERY, { from: from.toISOString(), to: to.toISOString() })).revenue;
      const answer = await ask();
      const flat = (p: GqlPoint) => [p.periodStart, p.currency, p.mrr.amount, p.newMrr.amount, p.expansionMrr.amount, p.contractionMrr.amount, p.churnedMrr.amount,
        p.reactivationMrr.amount, p.netNewMrr.amount, p.customers, p.newCustomers, p.churnedCustomers, p.reactivatedCustomers, p.arpa.amount,
        p.customerChurnRate, p.grossMrrChurnRate, p.netRevenueRetention];
      const expectedFlat = expected.map((p) => [p.periodStart.toISOString(), p.currency, p.mrr, p.newMrr, p.expansionMrr, p.contractionMrr, p.churnedMrr,
        p.reactivationMrr, p.netNewMrr, p.customers, p.newCustomers, p.churnedCustomers, p.reactivatedCustomers, p.arpa,
        p.customerChurnRate, p.grossMrrChurnRate, p.netRevenueRetention]);
      const equal = JSON.stringify(answer.map(flat)) === JSON.stringify(expectedFlat);
      if (!equal) ctx.log(`MISMATCH gateway ${JSON.stringify(answer.map(flat).slice(-2))} vs baseline ${JSON.stringify(expectedFlat.slice(-2))}`);
      const chained = answer.every((p, i) => {
        const prev = answer.slice(0, i).filter((q) => q.currency === p.currency).at(-1);
        return (prev?.mrr.amount ?? p.mrr.amount - p.netNewMrr.amount) + p.netNewMrr.amount === p.mrr.amount;
      });
      const latencies = await timeSequential(ask, { requests });
      const p50 = pct(latencies, 50);
      const base50 = pct(baselineTimes, 50);
      const n = total.toLocaleString('en-US');
      return [
        {
          metric: `revenue query p50 (24 MONTH points × ${new Set(answer.map((p) => p.currency)).size} currencies, ${n} subscriptions, ${movements.toLocaleString('en-US')} movements, ${requests} requests over HTTP)`,
          value: round1(p50),
          unit: 'ms',
          baseline: { name: 'one GROUP BY over the raw movements (+ the same point arithmetic), p50', value: round1(base50), unit: 'ms' },
          target: 'p50 ≤ 50 ms and ≥ 10× faster than the baseline',
          met: p50 <= 50 && base50 / p50 >= 10,
        },
        { metric: 'revenue query p99', value: round1(pct(latencies, 99)), unit: 'ms' },
        { metric: 'speed-up over the baseline (p50)', value: round1(base50 / p50), unit: '×', target: '≥ 10×', met: base50 / p50 >= 10 },
        { metric: 'the gateway answer == the baseline, figure by figure; points chain', value: equal && chained ? 1 : 0, unit: 'bool', target: 'equal', met: equal && chained },
        { metric: `seed ${n} subscriptions + movements`, value: round1(seedSeconds), unit: 's' },
        { metric: 'rebuild rollups (rebuildRevenueRollups)', value: round1(rebuildSeconds), unit: 's' },
      ];
    });
  },
};

// Run alone: prints the rows.
runIfMain(import.meta.url, part);
