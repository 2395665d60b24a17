/**
 * The customer a usage call names, with its live subscriptions, in one statement (the hot path of
 * `reportUsage` is this read and one insert). Which subscription carries a meter, and the window a
 * record's timestamp must fall in, are decided here from the mirror and the catalog.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { CustomerRef } from '../../auth/guard.js';
import { queryRows } from '../../db/sql.js';
import type { Catalog, CatalogMeter, CatalogPlan } from '../../catalog.js';
import { previousPeriodStart } from './periods.js';
import { MAX_FUTURE_MS } from './rules.js';

/**
 * Statuses whose subscription still bills metered usage: past_due and unpaid keep invoicing in Stripe
 * (dunning decides access, not whether usage is recorded: nothing reported is lost).
 */
export const USAGE_BILLING_STATUSES = ['active', 'trialing', 'past_due', 'unpaid'] as const;

export interface MeteredSubscription {
  id: string;
  planId: string | null;
  status: string;
  periodStart: Date | null;
  periodEnd: Date | null;
  anchor: Date | null;
  startDate: Date | null;
}

export interface UsageCustomer {
  id: string;
  externalId: string | null;
  /** Sandbox test clock (never changes for a customer); null: the customer lives at wall time. */
  testClock: string | null;
  /** Live subscriptions, newest first. */
  subscriptions: MeteredSubscription[];
}

interface Row {
  customer_id: string;
  external_id: string | null;
  test_clock: string | null;
  subscription_id: string | null;
  plan_id: string | null;
  status: string | null;
  current_period_start: Date | string | null;
  current_period_end: Date | string | null;
  anchor: string | null;
  start_date: string | null;
}

const date = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));
const unixDate = (v: string | null): Date | null => (v === null || v === '' ? null : new Date(Number(v) * 1000));

export const refKey = (ref: CustomerRef): string => (ref.kind === 'stripeId' ? `id:${ref.id}` : `ext:${ref.externalId}`);

const STATUS_LIST = USAGE_BILLING_STATUSES.map((s) => `'${s}'`).join(', ');
const SELECT = `select c.id as customer_id, c.external_id, c.test_clock, s.id as subscription_id, s.plan_id, s.status,
  s.current_period_start, s.current_period_end, s.raw->>'billing_cycle_anchor' as anchor, s.raw->>'start_date' as start_date
  from customers c left join subscriptions s on s.customer_id = c.id and s.status in (${STATUS_LIST})`;
const ORDER = `order by c.id, s.created_at desc nulls last, s.id desc`;

/** The customers the refs name (missing ones are absent from the map), keyed by `refKey`. */
export async function loadUsageCustomers(em: EntityManager, refs: readonly CustomerRef[]): Promise<Map<string, UsageCustomer>> {
  const ids = [...new Set(refs.filter((r) => r.kind === 'stripeId').map((r) => (r as { id: string }).id))];
  const exts = [...new Set(refs.filter((r) => r.kind === 'externalId').map((r) => (r as { externalId: string }).externalId))];
  let rows: Row[];
  if (ids.length + exts.length === 1) {
    // One customer (the common case): a plain equality the planner caches well.
    rows = await queryRows<Row>(em, `${SELECT} where c.deleted = false and ${ids.length ? 'c.id' : 'c.external_id'} = ? ${ORDER}`, [ids[0] ?? exts[0]]);
  } else {
    rows = await queryRows<Row>(
      em,
      `${SELECT} where c.deleted = false and (c.id in (select jsonb_array_elements_text(?::jsonb)) or c.external_id in (select jsonb_array_elements_text(?::jsonb))) ${ORDER}`,
      [JSON.stringify(ids), JSON.stringify(exts)],
    );
  }
  const byId = new Map<string, UsageCustomer>();
  for (const r of rows) {
    let c = byId.get(r.customer_id);
    if (!c) byId.set(r.customer_id, (c = { id: r.customer_id, externalId: r.external_id, testClock: r.test_clock, subscriptions: [] }));
    if (r.subscription_id) {
      c.subscriptions.push({
        id: r.subscription_id,
        planId: r.plan_id,
        status: r.status!,
        periodStart: date(r.current_period_start),
        periodEnd: date(r.current_period_end),
        anchor: unixDate(r.anchor),
        startDate: unixDate(r.start_date),
      });
    }
  }
  const out = new Map<string, UsageCustomer>();
  for (const c of byId.values()) {
    out.set(`id:${c.id}`, c);
    if (c.externalId) out.set(`ext:${c.externalId}`, c);
  }
  return out;
}

/**
 * The single-call hot path reads a customer through this short-lived cache (per database, by ref): a
 * backend reporting thousands of calls a second for one customer then costs one statement per call
 * (the insert). Only a record that passes validation is accepted on cached facts; one that fails is
 * checked again against a fresh read, so a subscription started a moment ago is never refused. A
 * subscription that ended or renewed less than `USAGE_CUSTOMER_TTL_MS` ago may still be seen as it was.
 */
export const USAGE_CUSTOMER_TTL_MS = 1_000;
const CACHE_MAX = 10_000;
const caches = new WeakMap<object, Map<string, { customer: UsageCustomer; until: number }>>();

function cacheOf(em: EntityManager): Map<string, { customer: UsageCustomer; until: number }> {
  const owner = em.getDriver();
  let cache = caches.get(owner);
  if (!cache) caches.set(owner, (cache = new Map()));
  return cache;
}

/** The customer a ref names, from the cache when fresh enough (`cached` says which). */
export async function loadUsageCustomerCached(em: EntityManager, ref: CustomerRef): Promise<{ customers: Map<string, UsageCustomer>; cached: boolean }> {
  const cache = cacheOf(em);
  const key = refKey(ref);
  const hit = cache.get(key);
  if (hit && hit.until > Date.now()) return { customers: new Map([[key, hit.customer]]), cached: true };
  const customers = await loadUsageCustomers(em, [ref]);
  const found = customers.get(key);
  if (found) {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, { customer: found, until: Date.now() + USAGE_CUSTOMER_TTL_MS });
  } else cache.delete(key);
  return { customers, cached: false };
}

/** Drops a ref's cached customer (after a fresh read disagreed). */
export function forgetUsageCustomer(em: EntityManager, ref: CustomerRef): void {
  cacheOf(em).delete(refKey(ref));
}

/** Catalog lookups by meter id and Stripe event name, built once per catalog. */
export interface CatalogIndex {
  plans: Map<string, CatalogPlan>;
  meters: Map<string, CatalogMeter>;
  meterIdByEventName: Map<string, string>;
}
const indexes = new WeakMap<Catalog, CatalogIndex>();
export function catalogIndex(catalog: Catalog): CatalogIndex {
  let ix = indexes.get(catalog);
  if (!ix) {
    ix = {
      plans: new Map(catalog.plans.map((p) => [p.id, p])),
      meters: new Map(catalog.meters.map((m) => [m.id, m])),
      meterIdByEventName: new Map(catalog.meters.map((m) => [m.eventName, m.id])),
    };
    indexes.set(catalog, ix);
  }
  return ix;
}

export type PlanMeterOf = CatalogPlan['meters'][number];

export interface MeterCarrier {
  subscription: MeteredSubscription & { periodStart: Date; periodEnd: Date };
  plan: CatalogPlan;
  planMeter: PlanMeterOf;
}

/**
 * The live subscriptions whose plan has `meterId` (and a mirrored period), newest first. Usually one;
 * two products whose plans share a meter both bill it (Stripe counts a meter event for every price on
 * the meter), so a record is valid when it falls in either's window.
 */
export function subscriptionsCarrying(catalog: Catalog, customer: UsageCustomer, meterId: string): MeterCarrier[] {
  const { plans } = catalogIndex(catalog);
  const out: MeterCarrier[] = [];
  for (const s of customer.subscriptions) {
    const plan = s.planId ? plans.get(s.planId) : undefined;
    const planMeter = plan?.meters.find((m) => m.meter === meterId);
    if (plan && planMeter && s.periodStart && s.periodEnd) out.push({ subscription: s as MeterCarrier['subscription'], plan, planMeter });
  }
  return out;
}

/**
 * The half-open window [from, to) a record's timestamp must fall in: from the start of the previous
 * period (never before the subscription started) to the end of the current (mirrored) period, and
 * never more than 5 minutes ahead of `now` (Stripe's limit). When `now` is already past the mirrored
 * period end (the renewal's webhook is not mirrored yet), the new period is open up to `now + 5 min`,
 * so usage is not refused while the mirror catches up.
 */
export function usageWindow(carrier: MeterCarrier, now: Date): { from: Date; to: Date } {
  const s = carrier.subscription;
  const prev = previousPeriodStart(s.periodStart, carrier.plan.interval, carrier.plan.intervalCount, s.anchor);
  const from = s.startDate && s.startDate.getTime() > prev.getTime() ? s.startDate : prev;
  const ceiling = now.getTime() + MAX_FUTURE_MS + 1;
  const to = now.getTime() >= s.periodEnd.getTime() ? ceiling : Math.min(s.periodEnd.getTime(), ceiling);
  return { from, to: new Date(to) };
}
