/** Where an open dunning case stands at a moment of the customer's clock (its restriction times). */
export type DunningAccessState = 'GRACE' | 'SOFT_SUSPENDED' | 'SUSPENDED';

export interface RestrictionTimes {
  softSuspendAt: Date | null;
  suspendAt: Date | null;
}

/** GRACE until soft suspension, SOFT_SUSPENDED until suspension, then SUSPENDED. */
export function caseAccessState(c: RestrictionTimes, now: Date): DunningAccessState {
  const t = now.getTime();
  if (c.suspendAt && t >= c.suspendAt.getTime()) return 'SUSPENDED';
  if (c.softSuspendAt && t >= c.softSuspendAt.getTime()) return 'SOFT_SUSPENDED';
  return 'GRACE';
}

const SEVERITY: Record<DunningAccessState, number> = { GRACE: 1, SOFT_SUSPENDED: 2, SUSPENDED: 3 };

/** The stricter of two states (a customer with several open cases is as restricted as the worst). */
export function stricter(a: DunningAccessState | undefined, b: DunningAccessState): DunningAccessState {
  return a && SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** A timestamp column as a Date (drivers give Date or ISO string). */
export function dateOf(v: Date | string | null | undefined): Date | null {
  return v === null || v === undefined ? null : new Date(v);
}
