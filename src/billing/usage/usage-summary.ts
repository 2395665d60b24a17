/**
 * `Customer.usage`: per meter of the customer's plan, the quantity recorded in the current period of
 * the subscription carrying the meter, half-open [periodStart, periodEnd) by record timestamp, the
 * same boundaries the emulator (and Stripe) bill a metered price on (the emulator package's billing/usage.ts).
 * Built for DataLoader: the quantities of any number of (customer, meter, period) keys are summed
 * in one statement over the (customer_id, meter, timestamp) index.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Subscription } from '../../db/entities/subscription.js';
import { queryRows } from '../../db/sql.js';
import type { Catalog, CatalogPlan } from '../../catalog.js';
import { catalogIndex, USAGE_BILLING_STATUSES, type PlanMeterOf } from './metered-customers.js';

export interface UsageQuantityKey {
  customerId: string;
  /** Stripe event name (what the ledger stores). */
  eventName: string;
  from: Date;
  to: Date;
}

export const usageQuantityCacheKey = (k: UsageQuantityKey) => `${k.customerId}\u0000${k.eventName}\u0000${k.from.getTime()}\u0000${k.to.getTime()}`;

/** Summed quantity per key, in key order (0 when nothing was recorded). */
export async function batchUsageQuantities(em: EntityManager, keys: readonly UsageQuantityKey[]): Promise<number[]> {
  const rows = await queryRows<{ i: number; quantity: string | number }>(
    em,
    `select k.i, coalesce(sum(u.quantity), 0) as quantity
     from jsonb_to_recordset(?::jsonb) as k(i int, customer_id text, meter text, from_ts timestamptz, to_ts timestamptz)
     left join usage_records u on u.customer_id = k.customer_id and u.meter = k.meter and u."timestamp" >= k.from_ts and u."timestamp" < k.to_ts
     group by k.i`,
    [JSON.stringify(keys.map((k, i) => ({ i, customer_id: k.customerId, meter: k.eventName, from_ts: k.from.toISOString(), to_ts: k.to.toISOString() })))],
  );
  const out = keys.map(() => 0);
  for (const r of rows) out[Number(r.i)] = Number(r.quantity);
  return out;
}

/** A meter of the customer's plan, with the current period of the subscription carrying it. */
export interface PlanMeterPeriod {
  meterId: string;
  eventName: string;
  plan: CatalogPlan;
  planMeter: PlanMeterOf;
  periodStart: Date;
  periodEnd: Date;
}

const BILLING = new Set<string>(USAGE_BILLING_STATUSES);

/** The catalog plans of the live subscriptions (newest first), and each meter once (the newest subscription carrying it wins). */
export function plansAndMeters(catalog: Catalog, subscriptions: readonly Subscription[]): { plans: CatalogPlan[]; meters: PlanMeterPeriod[] } {
  const ix = catalogIndex(catalog);
  const plans: CatalogPlan[] = [];
  const meters = new Map<string, PlanMeterPeriod>();
  for (const s of subscriptions) {
    if (!BILLING.has(s.status)) continue;
    const plan = s.planId ? ix.plans.get(s.planId) : undefined;
    if (!plan) continue;
    plans.push(plan);
    if (!s.currentPeriodStart || !s.currentPeriodEnd) continue;
    for (const pm of plan.meters) {
      const meter = ix.meters.get(pm.meter);
      if (!meter || meters.has(meter.id)) continue;
      meters.set(meter.id, { meterId: meter.id, eventName: meter.eventName, plan, planMeter: pm, periodStart: s.currentPeriodStart, periodEnd: s.currentPeriodEnd });
    }
  }
  return { plans, meters: [...meters.values()] };
}

export interface UsageSummaryView {
  meter: string;
  periodStart: Date;
  periodEnd: Date;
  quantity: number;
  included: number;
  overage: number;
}

export function toUsageSummary(m: PlanMeterPeriod, quantity: number): UsageSummaryView {
  const included = m.planMeter.included;
  return { meter: m.meterId, periodStart: m.periodStart, periodEnd: m.periodEnd, quantity, included, overage: Math.max(0, quantity - included) };
}
