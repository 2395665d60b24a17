/**
 * Revenue over time: MRR, its movements (new, expansion, contraction, churn, reactivation), customer
 * counts, churn rates, net revenue retention and ARPA per UTC day, week (Monday) or month, per currency.
 *
 * Read from `revenue_rollups` (src/db/entities/revenue.ts): signed deltas per period kept by the
 * database from the customers' MRR movements, so a report reads about one row per period and
 * currency (plus the history before `from`, summed by the database into one row per currency),
 * whatever the number of subscriptions. Sums are exact; every figure is rounded half-up once.
 * `netNewMrr` is the difference of the rounded MRR at the period's end and start, so
 * `mrr(start) + netNewMrr = mrr(end)` holds exactly and consecutive points chain.
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { ROLLUP_COLUMNS, rollupPeriodsSql, rollupValuesSql, type MrrMovementKind, type RevenueGrain } from '../../db/entities/revenue.js';
import { flushMirrorRows } from '../../stripe/mirror/batch.js';
import { boundRows } from '../../stripe/mirror/bound-sql.js';
import { idOf } from '../../stripe/mirror/common.js';
import { badUserInput } from '../../errors.js';
import { addExact, fraction, multiplyExact, roundHalfUp, ZERO, type Fraction } from '../../mrr/index.js';
import { queryRows, rebuildLocked } from '../../db/sql.js';

export type RevenueInterval = 'DAY' | 'WEEK' | 'MONTH';

export interface RevenueQuery {
  from: Date;
  to: Date;
  interval?: RevenueInterval;
  /** Only this currency (lower-cased); all currencies with any history otherwise. */
  currency?: string | null;
}

/** Minor units of the point's currency. */
export interface RevenuePointData {
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  mrr: number;
  newMrr: number;
  expansionMrr: number;
  contractionMrr: number;
  churnedMrr: number;
  reactivationMrr: number;
  netNewMrr: number;
  customers: number;
  newCustomers: number;
  churnedCustomers: number;
  reactivatedCustomers: number;
  arpa: number;
  customerChurnRate: number | null;
  grossMrrChurnRate: number | null;
  netRevenueRetention: number | null;
}

/** The most points one report may have (ten years of days). */
export const MAX_REVENUE_POINTS = 3700;

const GRAIN: Record<RevenueInterval, RevenueGrain> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** The UTC start of the period of `grain` holding `t` (weeks start on Monday). */
export function periodStartOf(t: Date, grain: RevenueGrain): Date {
  const day = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  if (grain === 'day') return new Date(day);
  if (grain === 'week') return new Date(day - ((t.getUTCDay() + 6) % 7) * 86_400_000);
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
}

export function nextPeriod(start: Date, grain: RevenueGrain): Date {
  if (grain === 'day') return new Date(start.getTime() + 86_400_000);
  if (grain === 'week') return new Date(start.getTime() + 7 * 86_400_000);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

/** The period starts of every interval overlapping [from, to), oldest first. */
export function periodStarts(from: Date, to: Date, grain: RevenueGrain): Date[] {
  const out: Date[] = [];
  for (let p = periodStartOf(from, grain); p < to; p = nextPeriod(p, grain)) {
    out.push(p);
    if (out.length > MAX_REVENUE_POINTS) throw badUserInput('to', `At most ${MAX_REVENUE_POINTS} points per report: shorten the range or use a longer interval`);
  }
  return out;
}

export interface RollupRow {
  currency: string;
  /** 'YYYY-MM-DD', or null for everything before the first period. */
  period: string | null;
  denominator: string;
  new_num: string;
  expansion_num: string;
  contraction_num: string;
  churned_num: string;
  reactivation_num: string;
  kept_num: string;
  customers: string | number;
  new_customers: string | number;
  churned_customers: string | number;
  reactivated_customers: string | number;
  r: string | number;
}

const MONEY_FIELDS = ['new_num', 'expansion_num', 'contraction_num', 'churned_num', 'reactivation_num', 'kept_num'] as const;
const COUNT_FIELDS = ['customers', 'new_customers', 'churned_customers', 'reactivated_customers'] as const;
type MoneyField = (typeof MONEY_FIELDS)[number];
type CountField = (typeof COUNT_FIELDS)[number];

/** One period's (or the earlier history's) sums for one currency. */
type Sums = Record<MoneyField, Fraction> & Record<CountField, number>;

const emptySums = (): Sums => ({
  new_num: ZERO, expansion_num: ZERO, contraction_num: ZERO, churned_num: ZERO, reactivation_num: ZERO, kept_num: ZERO,
  customers: 0, new_customers: 0, churned_customers: 0, reactivated_customers: 0,
});

const netOf = (s: Sums): Fraction =>
  [s.expansion_num, s.reactivation_num, neg(s.contraction_num), neg(s.churned_num)].reduce(addExact, s.new_num);
const neg = (f: Fraction): Fraction => multiplyExact(f, fraction(-1n));
const ratio = (a: Fraction, b: Fraction): number => Number(a.numerator * b.denominator) / Number(a.denominator * b.numerator);

/** Delta rows read in one report beyond which the rollups are compacted. */
export const COMPACT_ROLLUPS_AFTER_ROWS = 2000;

/**
 * The report: one point per interval overlapping [from, to) and currency, oldest first (currencies in
 * alphabetical order within a period). Reads through `em` (inside a transaction it sees its writes).
 */
export async function revenueReport(em: EntityManager, q: RevenueQuery): Promise<RevenuePointData[]> {
  if (!(q.from instanceof Date) || Number.isNaN(q.from.getTime())) throw badUserInput('from', 'from must be a date-time');
  if (!(q.to instanceof Date) || Number.isNaN(q.to.getTime())) throw badUserInput('to', 'to must be a date-time');
  if (q.to <= q.from) throw badUserInput('to', 'to must be after from');
  const grain = GRAIN[q.interval ?? 'MONTH'];
  const starts = periodStarts(q.from, q.to, grain);
  const first = starts[0]!;
  const end = nextPeriod(starts[starts.length - 1]!, grain);
  const currency = q.currency ? q.currency.toLowerCase() : null;
  const rows = await queryRows<RollupRow>(em, ROLLUP_SUMS_SQL(Boolean(currency)), [isoDay(first), grain, isoDay(end), ...(currency ? [currency] : [])]);
  const read = rows.reduce((n, r) => n + Number(r.r), 0);
  if (read > COMPACT_ROLLUPS_AFTER_ROWS + 2 * rows.length) await compactRevenueRollups(em);
  return pointsOf(rows, starts, grain, currency);
}

/** SQL: the rollups of one grain summed per currency, period and denominator, everything before the first period in one row (period null). */
const ROLLUP_SUMS_SQL = (oneCurrency: boolean) => `select currency, case when period < ?::date then null else to_char(period, 'YYYY-MM-DD') end as period, denominator::text as denominator,
       sum(new_num)::text as new_num, sum(expansion_num)::text as expansion_num, sum(contraction_num)::text as contraction_num,
       sum(churned_num)::text as churned_num, sum(reactivation_num)::text as reactivation_num, sum(kept_num)::text as kept_num,
       sum(customers) as customers, sum(new_customers) as new_customers, sum(churned_customers) as churned_customers,
       sum(reactivated_customers) as reactivated_customers, count(*) as r
from revenue_rollups
where grain = ? and period < ?::date ${oneCurrency ? 'and currency = ?' : ''}
group by 1, 2, 3`;

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The points from sums per currency, period ('YYYY-MM-DD' start, null for the history before the
 * first one) and denominator: exact running MRR and customer counts, each figure rounded once.
 * Exported for the bench's baseline, which computes the same sums from the raw movements.
 */
export function pointsOf(rows: readonly RollupRow[], starts: readonly Date[], grain: RevenueGrain, currency: string | null): RevenuePointData[] {
  const byCurrency = new Map<string, Map<string, Sums>>();
  for (const row of rows) {
    const periods = byCurrency.get(row.currency) ?? new Map<string, Sums>();
    byCurrency.set(row.currency, periods);
    const key = row.period ?? '';
    const s = periods.get(key) ?? emptySums();
    periods.set(key, s);
    const den = BigInt(row.denominator);
    for (const f of MONEY_FIELDS) s[f] = addExact(s[f], fraction(BigInt(row[f]), den));
    for (const f of COUNT_FIELDS) s[f] += Number(row[f]);
  }
  if (currency && !byCurrency.has(currency)) byCurrency.set(currency, new Map());

  const points: RevenuePointData[] = [];
  for (const [cur, periods] of [...byCurrency].sort(([a], [b]) => a.localeCompare(b))) {
    const before = periods.get('') ?? emptySums();
    let mrr = netOf(before);
    let customers = before.customers;
    for (const start of starts) {
      const s = periods.get(isoDay(start)) ?? emptySums();
      const mrrEnd = addExact(mrr, netOf(s));
      const customersEnd = customers + s.customers;
      const startRounded = roundHalfUp(mrr);
      const endRounded = roundHalfUp(mrrEnd);
      const lost = addExact(s.churned_num, s.contraction_num);
      points.push({
        periodStart: start,
        periodEnd: nextPeriod(start, grain),
        currency: cur,
        mrr: endRounded,
        newMrr: roundHalfUp(s.new_num),
        expansionMrr: roundHalfUp(s.expansion_num),
        contractionMrr: roundHalfUp(s.contraction_num),
        churnedMrr: roundHalfUp(s.churned_num),
        reactivationMrr: roundHalfUp(s.reactivation_num),
        netNewMrr: endRounded - startRounded,
        customers: customersEnd,
        newCustomers: s.new_customers,
        churnedCustomers: s.churned_customers,
        reactivatedCustomers: s.reactivated_customers,
        arpa: customersEnd > 0 ? roundHalfUp(multiplyExact(mrrEnd, fraction(1n, BigInt(customersEnd)))) : 0,
        customerChurnRate: customers > 0 ? s.churned_customers / customers : null,
        grossMrrChurnRate: mrr.numerator !== 0n ? ratio(lost, mrr) : null,
        netRevenueRetention: mrr.numerator !== 0n ? ratio(addExact(mrr, s.kept_num), mrr) : null,
      });
      mrr = mrrEnd;
      customers = customersEnd;
    }
  }
  return points.sort((a, b) => a.periodStart.getTime() - b.periodStart.getTime() || a.currency.localeCompare(b.currency));  return points.sort((a, b) => a.periodStart.getTime() - b.periodStart.getTime() || a.currency.localeCompare(b.currency));
}

/**
 * Folds the rollup deltas into one row per key (dropping keys that sum to nothing), in one statement:
 * rows inserted meanwhile are left for the next time (as `compactMrrTotals` does for the MRR totals).
 */
export async function compactRevenueRollups(em: EntityManager): Promise<void> {
  const cols = ROLLUP_COLUMNS;
  const sums = cols.split(', ').map((c) => `sum(${c})`).join(', ');
  await queryRows(
    em,
    `with gone as (delete from revenue_rollups returning grain, period, currency, denominator, ${cols})
     insert into revenue_rollups (grain, period, currency, denominator, ${cols})
     select grain, period, currency, denominator, ${sums} from gone
     group by grain, period, currency, denominator
     having sum(movements) <> 0 or sum(customers) <> 0 or sum(new_num) <> 0 or sum(expansion_num) <> 0 or sum(contraction_num) <> 0
         or sum(churned_num) <> 0 or sum(reactivation_num) <> 0 or sum(kept_num) <> 0`,
  );
}

/** Exact amounts per currency, rounded once (currencies with any subscription, alphabetical). */
export interface CurrencyMovement {
  currency: string;
  amount: number;
  subscriptions: number;
}

export interface MrrMovements {
  /** First day of the month (UTC) the figures are for. */
  month: Date;
  newThisMonth: CurrencyMovement[];
  churnedThisMonth: CurrencyMovement[];
  /** New minus churned, per currency present in either. */
  netNewThisMonth: CurrencyMovement[];
}

/**
 * This month's (UTC, of `asOf`) new, churned and net new MRR per currency: the figures of the month's
 * revenue point (`newMrr`, `churnedMrr`, `netNewMrr`), so `mrr` and `revenue` agree. A currency is
 * listed under new / churned when a customer had such a movement, and under net new when either is.
 */
export async function monthMovements(em: EntityManager, asOf: Date): Promise<MrrMovements> {
  const month = periodStartOf(asOf, 'month');
  const points = await revenueReport(em, { from: month, to: nextPeriod(month, 'month'), interval: 'MONTH' });
  const added = points.filter((p) => p.newCustomers > 0);
  const churned = points.filter((p) => p.churnedCustomers > 0);
  const either = points.filter((p) => p.newCustomers > 0 || p.churnedCustomers > 0);
  return {
    month,
    newThisMonth: added.map((p) => ({ currency: p.currency, amount: p.newMrr, subscriptions: p.newCustomers })),
    churnedThisMonth: churned.map((p) => ({ currency: p.currency, amount: p.churnedMrr, subscriptions: p.churnedCustomers })),
    netNewThisMonth: either.map((p) => ({ currency: p.currency, amount: p.netNewMrr, subscriptions: p.newCustomers - p.churnedCustomers })),
  };
}

/** One question for `movementKindsOf`: the event's customer (null: none named), currency, time and change. */
export interface MovementKindAsk {
  customer: string | null;
  currency: string;
  at: Date;
  change: number;
}

/**
 * The kind of MRR movement an event brought (for the MRR_UPDATED signal's message): the latest
 * movement of the event's customer in `currency` at or before the event's time; when the history has
 * none (a customer not mirrored yet), the direction of the change.
 */
export async function movementKindOf(em: EntityManager, event: Stripe.Event, currency: string, change: number): Promise<MrrMovementKind> {
  const customer = idOf((event.data.object as { customer?: unknown }).customer);
  return (await movementKindsOf(em, [{ customer, currency, at: new Date(event.created * 1000), change }]))[0]!;
}

/**
 * `movementKindOf` for several events in one statement (a worker batch's signals ask at its end),
 * one kind per ask, in order.
 */
export async function movementKindsOf(em: EntityManager, asks: readonly MovementKindAsk[]): Promise<MrrMovementKind[]> {
  const named = asks.filter((a) => a.customer !== null);
  const found: (MrrMovementKind | null)[] = [];
  if (named.length > 0) {
    // A worker batch's kept rows and MRR points first (src/stripe/mirror/batch.ts); the database function
    // then recomputes each customer's movements if the batch deferred that (src/db/entities/revenue.ts).
    await flushMirrorRows(em);
    const rows = await boundRows<{ kind: MrrMovementKind | null }>(
      em,
      `select revenue_movement_kind(k.customer, k.currency, k.at) as kind
         from unnest($1::text[], $2::text[], $3::timestamptz[]) with ordinality as k (customer, currency, at, i)
        order by k.i`,
      [named.map((a) => a.customer), named.map((a) => a.currency), named.map((a) => a.at.toISOString())],
    );
    for (const r of rows) found.push(r.kind);
  }
  let next = 0;
  return asks.map((a) => (a.customer !== null ? found[next++] : null) ?? (a.change >= 0 ? 'expansion' : 'contraction'));
}

/** The rollups as the movements give them (repair, and loading movements with triggers off, as the bench does). */
export const REBUILD_REVENUE_ROLLUPS_SQL = `insert into revenue_rollups (grain, period, currency, denominator, ${ROLLUP_COLUMNS})
select g.grain, g.period, m.currency, m.denominator, ${rollupValuesSql('m').map((e) => `sum(${e})`).join(', ')}
from mrr_movements m cross join lateral ${rollupPeriodsSql('m')}
group by 1, 2, 3, 4`;

/** Rebuilds the rollups from `mrr_movements`, locked against the trigger's deltas (`rebuildLocked`). */
export function rebuildRevenueRollups(em: EntityManager): Promise<void> {
  return rebuildLocked(em, 'revenue_rollups', REBUILD_REVENUE_ROLLUPS_SQL);
}

/** The service behind `Query.revenue` (per request). */
export class RevenueService {
  constructor(private readonly em: EntityManager) {}

  report(q: RevenueQuery): Promise<RevenuePointData[]> {
    return revenueReport(this.em, q);
  }
}
