/**
 * Subscriptions (with their items) → `subscriptions` + `subscription_items`.
 *
 * The plan is the catalog plan whose id is the lookup_key of the licensed (non-metered) item's price
 * (falling back to the price's `metadata.plan_id`, which survives a lookup-key transfer to a newer
 * price). Periods, price and quantity come from that item: current API versions keep billing
 * periods on items. Items are always full in Stripe's subscription object, but an item's price may
 * arrive as a bare id; then the mirrored `prices` table answers (one query for all of them).
 */
import { TransactionPropagation, type EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import type { Catalog } from '../../catalog.js';
import { fraction, roundHalfUp, storedMrr, subscriptionMrrExact, type Fraction } from '../../mrr/index.js';
import { Price } from '../../db/entities/catalog.js';
import { Subscription, type SubscriptionDiscount } from '../../db/entities/subscription.js';
import { toStorableText } from '../../text/storable.js';
import { at, atOrNull, idOf, metadataOf, MirrorInputError, plain, rawCopy, type MirrorWriteOptions } from './common.js';
import { writeChildRows } from './deferred-rows.js';
import { MRR_COUNTING_STATUSES } from '../../db/entities/mrr-total.js';
import { beforeCustomerWrite, flushMirrorRows, isKept, keep, mirrorBatch, upsertManyRows, type CountedMrr, type MirrorBatch } from './batch.js';
import { boundRows } from './bound-sql.js';

/** Expandable fields of a subscription stored as ids in `raw` (items and discounts stay whole). */
const SUBSCRIPTION_COLLAPSED = ['customer', 'latest_invoice', 'test_clock', 'default_payment_method', 'default_source', 'pending_setup_intent', 'schedule', 'application', 'on_behalf_of'] as const;

/** What the subscription writer needs from the catalog. */
export type PlanCatalog = Pick<Catalog, 'plans'>;

/**
 * Retrieve/create/update subscriptions with this `expand` so the mirror can read the discount's coupon
 * (Stripe returns `discounts` as ids, and a discount's `source.coupon` as an id, unless expanded).
 */
export const SUBSCRIPTION_MIRROR_EXPAND = ['discounts.source.coupon'] as const;

/** The facts about an item's price the mirror uses. */
export interface PriceFacts {
  id: string;
  lookupKey: string | null;
  /** `metadata.plan_id` (written by the catalog sync). */
  metadataPlanId: string | null;
  usageType: string | null;
  unitAmount: number | null;
  interval: string | null;
  intervalCount: number | null;
  currency: string | null;
}

export function priceFactsOf(p: Stripe.Price): PriceFacts {
  return {
    id: p.id,
    lookupKey: p.lookup_key ?? null,
    metadataPlanId: p.metadata?.plan_id ?? null,
    usageType: p.recurring?.usage_type ?? null,
    unitAmount: p.unit_amount ?? null,
    interval: p.recurring?.interval ?? null,
    intervalCount: p.recurring?.interval_count ?? null,
    currency: p.currency ?? null,
  };
}

function priceFactsOfRow(p: Price): PriceFacts {
  return {
    id: p.id,
    lookupKey: p.lookupKey ?? null,
    metadataPlanId: p.metadata?.plan_id ?? null,
    usageType: p.usageType ?? null,
    unitAmount: p.unitAmount ?? null,
    interval: p.recurringInterval ?? null,
    intervalCount: p.recurringIntervalCount ?? null,
    currency: p.currency,
  };
}

/** A price field as the types say (`Price`) or as it may arrive (an id). */
type PriceRef = Stripe.Price | string;
const itemPrice = (item: Stripe.SubscriptionItem): PriceRef => item.price as PriceRef;
const priceIdOf = (ref: PriceRef): string => (typeof ref === 'string' ? ref : ref.id);

/** Price ids of items whose price arrived unexpanded (these need the `prices` table). */
export function unexpandedPriceIds(sub: Stripe.Subscription): string[] {
  return [...new Set(sub.items.data.map(itemPrice).filter((p): p is string => typeof p === 'string'))];
}

/** Loads facts for bare price ids from the mirrored `prices` table (unknown ids are simply absent). */
export async function loadPriceFacts(em: EntityManager, ids: string[]): Promise<Map<string, PriceFacts>> {
  if (ids.length === 0) return new Map();
  const rows = await em.find(Price, { id: { $in: ids } });
  return new Map(rows.map((r) => [r.id, priceFactsOfRow(r)]));
}

function factsFor(ref: PriceRef, known: Map<string, PriceFacts>): PriceFacts {
  if (typeof ref !== 'string') return priceFactsOf(ref);
  return (
    known.get(ref) ?? {
      id: ref,
      lookupKey: null,
      metadataPlanId: null,
      usageType: null,
      unitAmount: null,
      interval: null,
      intervalCount: null,
      currency: null,
    }
  );
}

/** True when every discount (and its coupon) is expanded, so `subscriptionDiscount` can read it. */
export function discountsExpanded(sub: Pick<Stripe.Subscription, 'discounts'>): boolean {
  return (sub.discounts ?? []).every((d) => typeof d !== 'string' && typeof d.source?.coupon !== 'string');
}

/**
 * The first discount's coupon, as MRR needs it. Throws MirrorInputError when the discounts are not
 * expanded (see SUBSCRIPTION_MIRROR_EXPAND / `withMirrorExpansions`): guessing would store a wrong MRR.
 */
export function subscriptionDiscount(sub: Pick<Stripe.Subscription, 'id' | 'discounts'>): SubscriptionDiscount | null {
  if (!discountsExpanded(sub)) {
    throw new MirrorInputError(
      `subscription ${sub.id}: discounts are not expanded; retrieve it with expand ${JSON.stringify(SUBSCRIPTION_MIRROR_EXPAND)}`,
    );
  }
  const first = (sub.discounts ?? [])[0] as Stripe.Discount | undefined;
  const coupon = first?.source?.coupon as Stripe.Coupon | null | undefined;
  if (!first || !coupon) return null;
  return {
    couponId: coupon.id,
    percentOff: coupon.percent_off ?? null,
    amountOff: coupon.amount_off ?? null,
    currency: coupon.currency ?? null,
    duration: coupon.duration as SubscriptionDiscount['duration'],
    durationInMonths: coupon.duration_in_months ?? null,
    end: first.end ? at(first.end).toISOString() : null,
  };
}

/** The licensed item (the first non-metered one); an item whose price is unknown counts as licensed. */
export function licensedItem(
  sub: Stripe.Subscription,
  prices: Map<string, PriceFacts> = new Map(),
): { item: Stripe.SubscriptionItem; price: PriceFacts } | null {
  for (const item of sub.items.data) {
    const price = factsFor(itemPrice(item), prices);
    if (price.usageType !== 'metered') return { item, price };
  }
  return null;
}

/** The catalog plan id of a price: its lookup_key, else its `metadata.plan_id`, when the catalog has it. */
export function planIdOf(price: PriceFacts, catalog: PlanCatalog): string | null {
  for (const key of [price.lookupKey, price.metadataPlanId]) {
    if (key && catalog.plans.some((p) => p.id === key)) return key;
  }
  return null;
}

/** The subscription's exact MRR (null: not computable), whatever its status. */
function subscriptionMrrOf(sub: Stripe.Subscription, discount: SubscriptionDiscount | null, prices: Map<string, PriceFacts>): Fraction | null {
  return subscriptionMrrExact({
    currency: sub.currency,
    items: sub.items.data.map((item) => {
      const p = factsFor(itemPrice(item), prices);
      return { unitAmount: p.unitAmount, quantity: item.quantity ?? null, interval: p.interval, intervalCount: p.intervalCount, usageType: p.usageType };
    }),
    discount,
  });
}

/** Row data for the subscription (pure). `prices` holds facts for item prices that arrived as bare ids. */
export function subscriptionRow(
  sub: Stripe.Subscription,
  catalog: PlanCatalog,
  prices: Map<string, PriceFacts> = new Map(),
  opts: MirrorWriteOptions = {},
  now = new Date(),
) {
  const customerId = idOf(sub.customer);
  if (!customerId) throw new MirrorInputError(`subscription ${sub.id}: no customer`);
  const licensed = licensedItem(sub, prices);
  const discount = subscriptionDiscount(sub);
  const mrrExact = subscriptionMrrOf(sub, discount, prices);
  const periodItem = licensed?.item ?? sub.items.data[0];
  return {
    id: sub.id,
    customerId,
    status: sub.status,
    planId: licensed ? planIdOf(licensed.price, catalog) : null,
    priceId: licensed?.price.id ?? null,
    quantity: licensed ? (licensed.item.quantity ?? null) : null,
    currency: sub.currency,
    currentPeriodStart: atOrNull(periodItem?.current_period_start),
    currentPeriodEnd: atOrNull(periodItem?.current_period_end),
    cancelAtPeriodEnd: sub.cancel_at_period_end ?? false,
    cancelAt: atOrNull(sub.cancel_at),
    canceledAt: atOrNull(sub.canceled_at),
    endedAt: atOrNull(sub.ended_at),
    trialStart: atOrNull(sub.trial_start),
    trialEnd: atOrNull(sub.trial_end),
    latestInvoiceId: idOf(sub.latest_invoice),
    discount,
    mrrAmount: mrrExact === null ? null : roundHalfUp(mrrExact),
    // The exact value too: the MRR totals (a trigger on the table) sum these, never the rounded amount.
    ...storedMrr(mrrExact),
    testClock: idOf(sub.test_clock),
    metadata: metadataOf(sub.metadata),
    createdAt: at(sub.created),
    raw: rawCopy(sub, SUBSCRIPTION_COLLAPSED),
    lastEventAt: opts.lastEventAt ?? null,
    syncedAt: now,
  };
}

/**
 * `raw` as the writer stores it for this copy, or null when the writer would store something else
 * (discounts given as ids: it re-reads the subscription with them expanded).
 */
export function subscriptionRaw(sub: Stripe.Subscription): unknown {
  sub = toStorableText(sub);
  return discountsExpanded(sub) ? rawCopy(sub, SUBSCRIPTION_COLLAPSED) : null;
}

/** Row data for each item (pure). Metered items have no quantity. */
export function subscriptionItemRows(sub: Stripe.Subscription, now = new Date()) {
  return sub.items.data.map((item) => ({
    id: item.id,
    subscriptionId: sub.id,
    priceId: priceIdOf(itemPrice(item)),
    quantity: item.quantity ?? null,
    currentPeriodStart: atOrNull(item.current_period_start),
    currentPeriodEnd: atOrNull(item.current_period_end),
    createdAt: atOrNull(item.created),
    raw: plain(item),
    syncedAt: now,
  }));
}

/**
 * Writes the subscription and its items in one transaction (joining the caller's, if any): at most
 * one read (prices given as bare ids), one upsert of the subscription, one multi-row upsert of the
 * items and one delete of the items no longer present. Idempotent.
 */
export async function upsertSubscription(
  em: EntityManager,
  sub: Stripe.Subscription,
  catalog: PlanCatalog,
  opts: MirrorWriteOptions = {},
): Promise<Subscription> {
  sub = toStorableText(sub);
  if (!sub.items || !Array.isArray(sub.items.data)) throw new MirrorInputError(`subscription ${sub.id}: no items list`);
  if (sub.items.has_more) {
    // Stripe lists up to 20 items inline; the gateway's plans have 2. Mirroring a partial list would delete items.
    throw new MirrorInputError(`subscription ${sub.id}: items list is truncated (has_more); pass the full list`);
  }
  // Pure checks first (e.g. unexpanded discounts): nothing is written when the input is unusable.
  subscriptionDiscount(sub);
  const now = new Date();
  const batch = mirrorBatch(em);
  if (batch) return batchUpsert(em, batch, sub, catalog, opts, now);
  return em.transactional(
    async (tx) => {
      const prices = await loadPriceFacts(tx, unexpandedPriceIds(sub));
      const data = subscriptionRow(sub, catalog, prices, opts, now);
      const row = await tx.upsert(Subscription, data);
      await recordWrittenPoint(tx, data, opts);
      await writeChildRows(tx, 'subscriptionItems', sub.id, subscriptionItemRows(sub, now));
      return row;
    },
    { propagation: TransactionPropagation.REQUIRED },
  );
}

const COUNTING = new Set<string>(MRR_COUNTING_STATUSES);

/** The columns of a `subscriptions` row that say what it counts (`countedOf` reads them). */
export const COUNTED_MRR_COLUMNS = '"status", "currency", "mrr_numerator"::text as n, "mrr_denominator"::text as d';

export interface CountedMrrColumns {
  status: string;
  currency: string;
  n: string | null;
  d: string | null;
}

export const countedOf = (row: CountedMrrColumns): CountedMrr => ({ status: row.status, currency: row.currency, numerator: row.n, denominator: row.d });

/** What the subscription's row counts now: from the batch's memory, else read (once per batch). */
async function countedBefore(em: EntityManager, batch: MirrorBatch, id: string): Promise<CountedMrr | null> {
  const known = batch.subscriptionMrr.get(id);
  if (known !== undefined) return known;
  const [row] = await boundRows<CountedMrrColumns>(em, `select ${COUNTED_MRR_COLUMNS} from "subscriptions" where "id" = $1`, [id]);
  return row ? countedOf(row) : null;
}

/**
 * What the subscription rows named in a batch count before its first write (read with their stamps,
 * under the batch's locks): `rows` holds the ids found, `ids` every id asked for (those not found
 * have no row). A no-op outside a batch.
 */
export function rememberCountedMrr(em: EntityManager, ids: Iterable<string>, rows: Map<string, CountedMrr>): void {
  const batch = mirrorBatch(em);
  if (!batch) return;
  for (const id of ids) if (!batch.subscriptionMrr.has(id)) batch.subscriptionMrr.set(id, rows.get(id) ?? null);
}

/**
 * `upsertSubscription` inside a mirror batch (./batch.ts): the row kept for one statement for the
 * batch's subscriptions (`keep`), and the write's MRR delta recorded as the totals' trigger will apply
 * it ('active': counting statuses, `coalesce(numerator, 0) / coalesce(denominator, 1)`, one
 * subscription), from what the row counted before: the batch's memory of it (read with the batch's
 * stamps, or its last write), else read. Items deferred to the batch's end. Returns a reference:
 * nothing in a batch reads the entity.
 */
async function batchUpsert(em: EntityManager, batch: MirrorBatch, sub: Stripe.Subscription, catalog: PlanCatalog, opts: MirrorWriteOptions, now: Date): Promise<Subscription> {
  const prices = await loadPriceFacts(em, unexpandedPriceIds(sub));
  const data = subscriptionRow(sub, catalog, prices, opts, now);
  // Reads of the customer's revenue history asked for before this write see it without the write.
  await beforeCustomerWrite(em, data.customerId);
  const prev = await countedBefore(em, batch, data.id);
  if (prev && COUNTING.has(prev.status)) {
    const exact = fraction(-BigInt(prev.numerator ?? '0'), BigInt(prev.denominator ?? '1'));
    batch.mrrDeltas.push({ currency: prev.currency.toLowerCase(), exact, subscriptions: -1 });
  }
  if (COUNTING.has(data.status)) {
    const exact = fraction(BigInt(data.mrrNumerator ?? '0'), BigInt(data.mrrDenominator ?? '1'));
    batch.mrrDeltas.push({ currency: data.currency.toLowerCase(), exact, subscriptions: 1 });
  }
  keep(em, SUBSCRIPTIONS, data.id, data, writeSubscriptionRows);
  batch.subscriptionMrr.set(data.id, { status: data.status, currency: data.currency, numerator: data.mrrNumerator, denominator: data.mrrDenominator });
  await recordWrittenPoint(em, data, opts);
  await writeChildRows(em, 'subscriptionItems', sub.id, subscriptionItemRows(sub, now));
  return em.getReference(Subscription, data.id);
}

/** A worker batch's subscription rows are kept (`keep`) under this kind and written in one statement. */
const SUBSCRIPTIONS = 'subscriptions';

const writeSubscriptionRows = (em: EntityManager, rows: ReturnType<typeof subscriptionRow>[]) => upsertManyRows(em, Subscription, 'subscriptions', rows);

/**
 * The revenue history's point for a written copy: an event's copy was the state at the event's time;
 * any other copy (a mutation's answer, a re-read, a sync) is the state now, on the customer's clock. A
 * copy stamped with an event's time (a re-read for it) is no older than that time.
 */
function recordWrittenPoint(em: EntityManager, data: ReturnType<typeof subscriptionRow>, opts: MirrorWriteOptions): Promise<void> {
  if (opts.eventType && opts.lastEventAt) return recordMrrPoint(em, data, opts.lastEventAt, mrrPointRank(opts.eventType));
  return recordMrrPoint(em, data, { notBefore: opts.lastEventAt ?? null }, opts.lastEventAt ? 0 : MRR_POINT_RANK_NOW);
}


/** The rank of the state just written by a mutation (its answer): exact at the clock's now. */
export const MRR_POINT_RANK_NOW = 4;

/**
 * Which copy wins when two give a subscription's MRR for the same moment (same-second events): the
 * answer of a mutation made now (4), then an event's copy: a deletion (3), an update (2), a creation
 * (1); last a copy only known to be no older than the moment (0: a re-read for an event, a sync, a
 * seeded row), which may already show a later change. Equal ranks from events keep the larger value,
 * so the outcome does not depend on arrival order.
 */
export function mrrPointRank(eventType: string): number {
  if (eventType.endsWith('.deleted')) return 3;
  if (eventType.endsWith('.created')) return 1;
  return 2;
}

/**
 * Records what the subscription's MRR was at `at` (or now on its test clock, else wall time, and no
 * earlier than `notBefore`) in
 * `subscription_mrr_points`; the database then recomputes the customer's MRR movements
 * (src/db/entities/revenue.ts). For the same moment, the higher rank wins; between two copies of the
 * current state of one rank, the later one.
 */
export async function recordMrrPoint(
  em: EntityManager,
  row: { id: string; customerId: string; mrrNumerator: string | null; mrrDenominator: string | null; testClock: string | null },
  at: Date | { notBefore: Date | null },
  rank: number,
): Promise<void> {
  const given = at instanceof Date ? at : null;
  const notBefore = at instanceof Date ? null : at.notBefore;
  await beforeCustomerWrite(em, row.customerId);
  if (given && mirrorBatch(em)) {
    const key = `${row.id}\u0000${given.getTime()}`;
    // Two points for one subscription and moment in a batch: the first is written before the second is
    // kept, so the rule chooses between them as it would one after the other.
    if (isKept(em, MRR_POINTS, key)) await flushMirrorRows(em);
    const point: KeptPoint = { id: row.id, at: given, customerId: row.customerId, numerator: row.mrrNumerator ?? '0', denominator: row.mrrDenominator ?? '1', rank };
    keep(em, MRR_POINTS, key, point, writeMrrPoints);
    return;
  }
  // A point at now comes after the batch's kept ones (the rule may choose between them).
  await flushMirrorRows(em);
  // Bound and prepared (bound-sql.ts).
  await boundRows(
    em,
    MRR_POINT_SQL,
    [row.id, given?.toISOString() ?? null, row.testClock, notBefore?.toISOString() ?? null, row.customerId, row.mrrNumerator ?? '0', row.mrrDenominator ?? '1', rank],
  );
}

/** Which of two points for one subscription and moment stays (see `mrrPointRank`): every writer of `subscription_mrr_points as p` ends with it. */
export const MRR_POINT_ON_CONFLICT = `on conflict (subscription_id, at) do update
  set customer_id = excluded.customer_id, numerator = excluded.numerator, denominator = excluded.denominator, rank = excluded.rank
  where (excluded.numerator, excluded.denominator, excluded.customer_id) is distinct from (p.numerator, p.denominator, p.customer_id)
    and (excluded.rank > p.rank or (excluded.rank = p.rank and (excluded.rank in (0, ${MRR_POINT_RANK_NOW}) or excluded.numerator / excluded.denominator > p.numerator / p.denominator)))`;

/** The MRR point's upsert: subscription id, given time, test clock, not-before time, customer id, numerator, denominator, rank. */
const MRR_POINT_SQL = `insert into subscription_mrr_points as p (subscription_id, at, customer_id, numerator, denominator, rank)
     values ($1::text, coalesce($2::timestamptz, greatest(coalesce((select frozen_time from test_clocks where id = $3::text), now()), $4::timestamptz)), $5::text, $6::numeric, $7::numeric, $8::int)
     ${MRR_POINT_ON_CONFLICT}`;

/** A worker batch's MRR points are kept (`keep`) under this kind and written in one statement. */
const MRR_POINTS = 'subscription_mrr_points';

/** An MRR point at a given time, as a batch keeps it. */
interface KeptPoint {
  id: string;
  at: Date;
  customerId: string;
  numerator: string;
  denominator: string;
  rank: number;
}

/** A batch's kept points (at most one per subscription and moment): one prepared statement over arrays. */
const MRR_POINTS_SQL = `insert into subscription_mrr_points as p (subscription_id, at, customer_id, numerator, denominator, rank)
     select * from unnest($1::text[], $2::timestamptz[], $3::text[], $4::numeric[], $5::numeric[], $6::int[])
     ${MRR_POINT_ON_CONFLICT}`;

async function writeMrrPoints(em: EntityManager, points: KeptPoint[]): Promise<void> {
  await boundRows(em, MRR_POINTS_SQL, [
    points.map((p) => p.id),
    points.map((p) => p.at.toISOString()),
    points.map((p) => p.customerId),
    points.map((p) => p.numerator),
    points.map((p) => p.denominator),
    points.map((p) => p.rank),
  ]);
}

/**
 * Records an event's copy of a subscription as an MRR point at the event's time, without touching the
 * row (an older event the mirror skips still says what the subscription was worth then; a backfill
 * from Stripe's event list). Returns false, recording nothing, when the copy cannot be valued: no
 * customer, a truncated item list, or discounts given as ids (their coupon is not in the copy).
 */
export async function recordEventMrrPoint(em: EntityManager, sub: Stripe.Subscription, at: Date, eventType: string): Promise<boolean> {
  if (!canValue(sub)) return false;
  const prices = await loadPriceFacts(em, unexpandedPriceIds(sub));
  await recordMrrPoint(em, subscriptionPointValue(sub, prices), at, mrrPointRank(eventType));
  return true;
}

/** Whether a subscription copy can be valued: a customer, its whole item list, discounts expanded. */
export function canValue(sub: Stripe.Subscription): boolean {
  return !!idOf(sub.customer) && !!sub.items && Array.isArray(sub.items.data) && !sub.items.has_more && discountsExpanded(sub);
}

/**
 * What a copy of a subscription is worth, as its MRR point records it (and as `subscriptionRow` would
 * store it), without building the row. `prices`: those its items give as bare ids (`loadPriceFacts`).
 */
export function subscriptionPointValue(sub: Stripe.Subscription, prices: Map<string, PriceFacts>) {
  const customerId = idOf(sub.customer);
  if (!customerId) throw new MirrorInputError(`subscription ${sub.id}: no customer`);
  return { id: sub.id, customerId, ...storedMrr(subscriptionMrrOf(sub, subscriptionDiscount(sub), prices)), testClock: idOf(sub.test_clock) };
}
