/**
 * MRR at a million subscriptions: seeds its own database on `ctx.databaseUrl` with
 * 1,000,000 subscriptions (3 currencies × the 4 catalog plans, per-seat quantities, percent-off
 * coupons, every status) and their items, builds the MRR totals with the production rebuild
 * (`rebuildMrrTotals`), starts the real gateway (`dist/src/main.js`) on it and measures `Query.mrr`
 * over HTTP (p50/p99 of --requests sequential requests after a warm-up), against the hand-written
 * baseline `SELECT currency, sum(mrr_amount) … GROUP BY currency` (a full scan) on the same table.
 * It also checks the incremental totals against the full recount (`fullRecountMrr`) and the GraphQL
 * answer against both.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/mrr/run.ts \
 *     [--subscriptions 1000000] [--requests 200] [--database-url postgres://…]
 *
 * Seeding runs in PostgreSQL (`generate_series`, one multi-row insert per chunk, with the triggers
 * off: the totals are then built once by the rebuild, as `sync --full` repair would).
 */
import { loadDist } from '../lib/dist.ts';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
import { numberOptions, runIfMain } from '../lib/report.ts';
import { seedInChunks, withSeededGateway } from '../lib/seeded-gateway.ts';
import { pct, round1, timeSequential } from '../lib/stats.ts';

const PLANS = [
  { id: 'basic_monthly', unit: 100, interval: 'month', perSeat: true },
  { id: 'pro_monthly', unit: 500, interval: 'month', perSeat: true },
  { id: 'pro_yearly', unit: 5000, interval: 'year', perSeat: true },
  // The catalog's enterprise price is custom; the seed gives it $100/month, so each currency's total stays
  // within GraphQL's 32-bit Int (Money.amount): at most $21,474,836.47 in minor units.
  { id: 'enterprise', unit: 10_000, interval: 'month', perSeat: false },
] as const;
const CURRENCIES = ['usd', 'eur', 'gbp'] as const;

const MRR_QUERY = /* GraphQL */ `{
  mrr {
    asOf
    totals { amount currency }
    activeSubscriptions
    byPlan { plan { id } mrr { amount currency } subscriptions }
    newThisMonth { amount currency }
    churnedThisMonth { amount currency }
    netNewThisMonth { amount currency }
  }
}`;

/** One chunk of subscriptions and their items, all in SQL. `$1..$2` are the row numbers. */
function seedChunkSql(denominator: bigint): string {
  const plans = `(array[${PLANS.map((p) => `'${p.id}'`).join(', ')}])`;
  const units = `(array[${PLANS.map((p) => p.unit).join(', ')}])`;
  // Exact MRR × D: unit × quantity × (D / 10,000, ÷ 12 for yearly) × (10,000 − percent hundredths).
  const perHundredth = denominator / 10_000n;
  return `
with s as (
  select g,
         ${plans}[1 + g % 4] as plan,
         ${units}[1 + g % 4] as unit,
         (array['usd', 'eur', 'gbp'])[1 + (g / 4) % 3] as currency,
         case when g % 4 = 3 then 1 else 1 + (g / 12) % 5 end as quantity,
         case when (g * 37) % 100 < 85 then 'active' when (g * 37) % 100 < 90 then 'past_due'
              when (g * 37) % 100 < 94 then 'trialing' else 'canceled' end as status,
         case when (g * 53) % 10 = 0 then 2500 when (g * 53) % 10 = 1 then 1250 else 0 end as hundredths,
         now() - ((g * 7919) % (3 * 365 * 86400)) * interval '1 second' as created
  from generate_series($1::bigint, $2::bigint) g
), v as (
  select s.*, unit::numeric * quantity * (case when plan = 'pro_yearly' then ${perHundredth / 12n} else ${perHundredth} end) * (10000 - hundredths) as numerator
  from s
), subs as (
  insert into subscriptions (id, customer_id, status, plan_id, price_id, quantity, currency, created_at, raw, discount,
                             mrr_amount, mrr_numerator, mrr_denominator, first_counted_at, stopped_counting_at, canceled_at, ended_at, trial_end)
  select 'sub_seed_' || g, 'cus_seed_' || (g % 250000), status, plan, 'price_seed_' || plan || '_' || currency, quantity, currency, created, '{}'::jsonb,
         case when hundredths > 0 then jsonb_build_object('couponId', 'seed_' || hundredths, 'percentOff', (hundredths / 100.0)::float8, 'amountOff', null,
                                                          'currency', null, 'duration', 'forever', 'durationInMonths', null, 'end', null) end,
         floor((2 * numerator + ${denominator}) / (2 * ${denominator}))::int, numerator, ${denominator},
         case when status <> 'trialing' then created end,
         case when status = 'canceled' then created + (now() - created) / 2 end,
         case when status = 'canceled' then created + (now() - created) / 2 end,
         case when status = 'canceled' then created + (now() - created) / 2 end,
         case when status = 'trialing' then now() + interval '7 days' end
  from v
  returning 1
)
insert into subscription_items (id, subscription_id, price_id, quantity, raw)
select 'si_seed_' || g, 'sub_seed_' || g, 'price_seed_' || plan || '_' || currency, quantity, '{}'::jsonb from s`;
}

/** The 12 prices the seeded items point at (the full recount reads them). */
function pricesSql(): string {
  const rows = PLANS.flatMap((p) =>
    CURRENCIES.map(
      (c) =>
        `('price_seed_${p.id}_${c}', 'prod_seed_${p.id}', ${c === 'usd' ? `'seed_${p.id}'` : 'null'}, '${c}', ${p.unit}, '${p.interval}', 1, 'licensed', now(), '{}'::jsonb)`,
    ),
  );
  return `insert into prices (id, product_id, lookup_key, currency, unit_amount, recurring_interval, recurring_interval_count, usage_type, created_at, raw) values ${rows.join(', ')}`;
}

export const part: BenchPart = {
  name: 'mrr',
  description: 'Query.mrr latency with 1,000,000 subscriptions (incremental totals) against a SELECT sum(…) full scan; incremental == full recount',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const { subscriptions: total, requests } = numberOptions(ctx, { subscriptions: 1_000_000, requests: 200 });
    return withSeededGateway(ctx.databaseUrl, async ({ databaseUrl, client, startGateway }) => {
      const [{ openOrm, closeOrm }, { rebuildMrrTotals }, { currentMrr, fullRecountMrr }, { MRR_DENOMINATOR }] = await Promise.all([
        loadDist<typeof import('../../src/db/orm.js')>('db/orm'),
        loadDist<typeof import('../../src/db/mrr-totals.js')>('db/mrr-totals'),
        loadDist<typeof import('../../src/billing/metrics/current-mrr.js')>('billing/metrics/current-mrr'),
        loadDist<typeof import('../../src/mrr/index.js')>('mrr/index'),
      ]);

      // Seed.
      await client.query(pricesSql());
      const sql = seedChunkSql(MRR_DENOMINATOR);
      const seedSeconds = await seedInChunks(client, {
        label: 'subscriptions',
        total,
        triggersOff: ['subscriptions'],
        analyze: ['subscriptions', 'subscription_items'],
        chunk: (lo, hi) => client.query(sql, [lo, hi]),
      });
      ctx.log(`seeded ${total.toLocaleString('en-US')} subscriptions in ${seedSeconds.toFixed(1)} s`);

      // Totals, by the production rebuild.
      const orm = await openOrm({ databaseUrl, migrate: false });
      let rebuildSeconds: number;
      let recountMs: number;
      let equal: boolean;
      let incremental: Awaited<ReturnType<typeof currentMrr>>;
      try {
        const t0 = performance.now();
        await rebuildMrrTotals(orm.em.fork());
        rebuildSeconds = (performance.now() - t0) / 1000;
        incremental = await currentMrr(orm.em.fork());
        const t1 = performance.now();
        const recount = await fullRecountMrr(orm.em.fork());
        recountMs = performance.now() - t1;
        equal = JSON.stringify({ ...incremental, asOf: 0 }) === JSON.stringify({ ...recount, asOf: 0 });
        if (!equal) ctx.log(`MISMATCH incremental ${JSON.stringify(incremental.currencies)} vs recount ${JSON.stringify(recount.currencies)}`);
      } finally {
        await closeOrm(orm);
      }
      ctx.log(`totals rebuilt in ${rebuildSeconds.toFixed(1)} s; full recount ${recountMs.toFixed(0)} ms; incremental ${equal ? '==' : '!='} recount`);

      // Baseline: the hand-written full scan.
      const baselineSql = `select currency, sum(mrr_amount) as amount, count(*) as n from subscriptions where status in ('active', 'past_due') group by currency`;
      const baseline: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        await client.query(baselineSql);
        if (i > 1) baseline.push(performance.now() - t);
      }
      baseline.sort((a, b) => a - b);

      // The gateway.
      const gateway = await startGateway();
      const ask = async () => (await gateway<{ mrr: { totals: { amount: number; currency: string }[]; activeSubscriptions: number } }>(MRR_QUERY)).mrr;
      const first = await ask();
      const graphqlMatches =
        first.activeSubscriptions === incremental.activeSubscriptions &&
        JSON.stringify(first.totals) === JSON.stringify(incremental.currencies.map((c) => ({ amount: c.amount, currency: c.currency })));
      const latencies = await timeSequential(ask, { requests });
      const p50 = pct(latencies, 50);
      const n = total.toLocaleString('en-US');
      return [
        { metric: `mrr query p50 (${n} subscriptions, ${requests} requests over HTTP)`, value: round1(p50), unit: 'ms', baseline: { name: 'SELECT sum(mrr_amount) full scan, p50', value: round1(pct(baseline, 50)), unit: 'ms' }, target: 'p50 ≤ 50 ms', met: p50 <= 50 },
        { metric: 'mrr query p99', value: round1(pct(latencies, 99)), unit: 'ms' },
        { metric: 'incremental totals == full recount (and == the GraphQL answer)', value: equal && graphqlMatches ? 1 : 0, unit: 'bool', target: 'equal', met: equal && graphqlMatches },
        { metric: 'full recount (fullRecountMrr, items joined)', value: Math.round(recountMs), unit: 'ms' },
        { metric: `seed ${n} subscriptions + items`, value: round1(seedSeconds), unit: 's' },
        { metric: 'rebuild totals (rebuildMrrTotals)', value: round1(rebuildSeconds), unit: 's' },
      ];
    });
  },
};

// Run alone: prints the rows.
runIfMain(import.meta.url, part);
