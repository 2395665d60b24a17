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
import cliProgress from 'cli-progress';
import pg from 'pg';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.js';
import { pct } from '../lib/stats.ts';
import { numberOption, runIfMain } from '../lib/report.ts';

type Harness = typeof import('../webhooks/harness.js');
const harness = async (): Promise<Harness> => (await import(new URL('../webhooks/harness.ts', import.meta.url).href)) as Harness;

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

const round1 = (n: number) => Math.round(n * 10) / 10;

export const part: BenchPart = {
  name: 'mrr',
  description: 'Query.mrr latency with 1,000,000 subscriptions (incremental totals) against a SELECT sum(…) full scan; incremental == full recount',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const total = numberOption(ctx, 'subscriptions', 1_000_000);
    const requests = numberOption(ctx, 'requests', 200);
    const h = await harness();
    const [{ openOrm, closeOrm }, { rebuildMrrTotals }, { currentMrr, fullRecountMrr }, { MRR_DENOMINATOR }] = await Promise.all([
      h.load<typeof import('../../src/db/orm.js')>('db/orm'),
      h.load<typeof import('../../src/db/mrr-totals.js')>('db/mrr-totals'),
      h.load<typeof import('../../src/billing/metrics/current-mrr.js')>('billing/metrics/current-mrr'),
      h.load<typeof import('../../src/mrr/index.js')>('mrr/index'),
    ]);

    const db = await h.tempDatabase(ctx.databaseUrl);
    const emus = await h.startEmulators();
    let gateway: Awaited<ReturnType<Harness['startGateway']>> | undefined;
    const client = new pg.Client({ connectionString: db.url });
    try {
      await closeOrm(await openOrm({ databaseUrl: db.url })); // migrate
      await client.connect();

      // Seed.
      const seedStart = performance.now();
      const bar = new cliProgress.SingleBar(
        { format: 'seeding subscriptions [{bar}] {percentage}% | {value}/{total} | {duration}s', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      await client.query('alter table subscriptions disable trigger user');
      await client.query(pricesSql());
      const chunk = 50_000;
      const sql = seedChunkSql(MRR_DENOMINATOR);
      for (let from = 1; from <= total; from += chunk) {
        const to = Math.min(total, from + chunk - 1);
        await client.query(sql, [from, to]);
        bar.update(to);
      }
      bar.stop();
      await client.query('alter table subscriptions enable trigger user');
      await client.query('analyze subscriptions; analyze subscription_items');
      const seedSeconds = (performance.now() - seedStart) / 1000;
      ctx.log(`seeded ${total.toLocaleString('en-US')} subscriptions in ${seedSeconds.toFixed(1)} s`);

      // Totals, by the production rebuild.
      const orm = await openOrm({ databaseUrl: db.url, migrate: false });
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
      gateway = await h.startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase });
      const token = await h.adminToken();
      const ask = async () => {
        const res = await fetch(`${gateway!.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: MRR_QUERY }),
        });
        const body = (await res.json()) as { data?: { mrr: { totals: { amount: number; currency: string }[]; activeSubscriptions: number } }; errors?: unknown };
        if (!res.ok || body.errors || !body.data) throw new Error(`mrr query failed (${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
        return body.data.mrr;
      };
      const first = await ask();
      const graphqlMatches =
        first.activeSubscriptions === incremental.activeSubscriptions &&
        JSON.stringify(first.totals) === JSON.stringify(incremental.currencies.map((c) => ({ amount: c.amount, currency: c.currency })));
      for (let i = 0; i < 20; i++) await ask(); // warm-up
      const latencies: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        await ask();
        latencies.push(performance.now() - t);
      }
      latencies.sort((a, b) => a - b);
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
    } finally {
      await client.end().catch(() => {});
      await gateway?.stop();
      await emus.close();
      await db.drop();
    }
  },
};

// Run alone: prints the rows.
runIfMain(import.meta.url, part);
