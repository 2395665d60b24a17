/**
 * Entitlements: "may this customer do this now?" for backends (check before work, report after).
 * The decision is a pure function of the plan, the period's usage and the access state; the rules
 * are in README.md in this folder.
 */
import type { AccessStateValue } from '../access/access-state.js';

export type EntitlementReason =
  /** A feature of the plan. */
  | 'INCLUDED'
  /** A meter below its included units. */
  | 'WITHIN_INCLUDED'
  /** A meter at or above its included units: allowed, the overage is billed. */
  | 'OVERAGE_BILLED'
  /** A meter at or above its hard cap (catalog `limit`). */
  | 'LIMIT_REACHED'
  /** Neither a feature nor a meter of the customer's plan. */
  | 'NOT_IN_PLAN'
  /** No subscription grants access (access state NONE). */
  | 'NO_SUBSCRIPTION'
  /** Dunning soft suspension: paid usage (meters) is refused, plan features stay. */
  | 'SOFT_SUSPENDED'
  /** Dunning suspension: everything is refused. */
  | 'SUSPENDED';

export interface EntitlementView {
  feature: string;
  allowed: boolean;
  /** Meters: the included units per period; null for plan features. */
  limit: number | null;
  /** Meters: units recorded in the current period. */
  used: number | null;
  /** Meters: max(0, limit − used). */
  remaining: number | null;
  /** Meters: the hard cap per period, when the catalog sets one. */
  hardLimit: number | null;
  reason: EntitlementReason;
}

export interface MeterFacts {
  included: number;
  hardLimit: number | null;
  used: number;
}

export interface EntitlementFacts {
  feature: string;
  access: AccessStateValue;
  /** The plan features of the customer's live subscriptions. */
  planFeatures: ReadonlySet<string>;
  /** Set when `feature` is a meter of the customer's plan. */
  meter: MeterFacts | null;
}

export function decideEntitlement(f: EntitlementFacts): EntitlementView {
  const m = f.meter;
  const numbers = m
    ? { limit: m.included, used: m.used, remaining: Math.max(0, m.included - m.used), hardLimit: m.hardLimit }
    : { limit: null, used: null, remaining: null, hardLimit: null };
  const answer = (allowed: boolean, reason: EntitlementReason): EntitlementView => ({ feature: f.feature, allowed, ...numbers, reason });
  if (f.access === 'NONE') return answer(false, 'NO_SUBSCRIPTION');
  if (f.access === 'SUSPENDED') return answer(false, 'SUSPENDED');
  if (m) {
    if (f.access === 'SOFT_SUSPENDED') return answer(false, 'SOFT_SUSPENDED');
    if (m.hardLimit !== null && m.used >= m.hardLimit) return answer(false, 'LIMIT_REACHED');
    return answer(true, m.used >= m.included ? 'OVERAGE_BILLED' : 'WITHIN_INCLUDED');
  }
  if (f.planFeatures.has(f.feature)) return answer(true, 'INCLUDED');
  return answer(false, 'NOT_IN_PLAN');
}
