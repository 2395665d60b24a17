/**
 * What verification needs to know about a key's customer, read in a few statements for all the
 * customers of a burst and cached per replica (verify-api-key.ts: `MAX_AGE_MS` at most): its access
 * state (dunning), its current plan's API limits, the plan meter's current billing period, and its
 * clock. A plan change, a cancel or a suspension therefore reaches every replica within that time.
 */
import type { Em } from '../../db/orm.js';
import { accessStatesOf, type AccessStateValue } from '../access/access-state.js';
import { apiLimitsOf, type ApiLimitsOf, type Catalog, type PlanInterval } from '../../catalog.js';
import { addIntervals } from '../usage/periods.js';
import { customerNowOf } from '../clock/customer-clock.js';
import { catalogIndex, loadUsageCustomers } from '../usage/metered-customers.js';

export interface CustomerApiState {
  id: string;
  externalId: string | null;
  access: AccessStateValue;
  /** The catalog plan of the newest live subscription; null when none. */
  planId: string | null;
  limits: ApiLimitsOf;
  /** Stripe event name of the plan's API meter (what the ledger stores). */
  meterEventName: string | null;
  /** Mirrored current period [start, end) of the subscription carrying the API meter, and its plan's interval. */
  period: { start: Date; end: Date; interval: PlanInterval; count: number } | null;
  /** The test clock's frozen time when the customer is on one (sandbox); null: wall time. */
  clockNow: Date | null;
}

const NO_LIMITS: ApiLimitsOf = { rateLimitPerMinute: null, quota: null, meter: null };

export async function loadCustomerApiStates(em: Em, catalog: Catalog, ids: readonly string[]): Promise<(CustomerApiState | null)[]> {
  const customers = await loadUsageCustomers(em, ids.map((id) => ({ kind: 'stripeId' as const, id })));
  const found = ids.filter((id) => customers.has(`id:${id}`));
  const onClock = found.filter((id) => customers.get(`id:${id}`)!.testClock);
  const [access, clocks] = await Promise.all([accessStatesOf(em, found), onClock.length ? customerNowOf(em, onClock) : Promise.resolve(new Map<string, Date>())]);
  const { plans, meters } = catalogIndex(catalog);
  return ids.map((id) => {
    const c = customers.get(`id:${id}`);
    if (!c) return null;
    const sub = c.subscriptions.find((s) => s.planId && plans.has(s.planId));
    const plan = sub ? plans.get(sub.planId!)! : null;
    const limits = plan ? apiLimitsOf(plan) : NO_LIMITS;
    const meter = limits.meter ? meters.get(limits.meter) : undefined;
    return {
      id,
      externalId: c.externalId,
      access: access.get(id) ?? 'NONE',
      planId: plan?.id ?? null,
      limits,
      meterEventName: meter?.eventName ?? null,
      period: meter && plan && sub?.periodStart && sub.periodEnd ? { start: sub.periodStart, end: sub.periodEnd, interval: plan.interval, count: plan.intervalCount } : null,
      clockNow: c.testClock ? (clocks.get(id) ?? null) : null,
    };
  });
}

/**
 * The billing period `now` falls in: the mirrored one, or, when `now` is already past its end (the
 * renewal is not mirrored yet), the periods after it stepped from its end, so usage stamped `now`
 * is counted in the period it will be billed in.
 */
export function periodAt(period: NonNullable<CustomerApiState['period']>, now: Date): { start: Date; end: Date } {
  let { start, end } = period;
  for (let i = 1; now.getTime() >= end.getTime() && i < 10_000; i++) {
    start = end;
    end = addIntervals(period.end, period.interval, i * period.count);
  }
  return { start, end };
}
