/**
 * A customer's access state (`AccessState` in schema.graphql): what backends and entitlements consult
 * before doing paid work.
 *
 * - An open dunning case decides (src/billing/dunning): GRACE until its soft suspension moment,
 *   SOFT_SUSPENDED until its suspension moment, then SUSPENDED, on the customer's clock (test clock
 *   frozen time in the sandbox); several open cases: the strictest. The moments are stored on the case,
 *   so the state is right even before the step runner has run the step.
 * - No open case: from subscription statuses: ACTIVE (active; past_due, i.e. a failure whose case is
 *   not processed yet, is GRACE), TRIALING, else NONE.
 */
import { placeholders } from '../../db/plain-rows.js';
import { customerNowOf, type SqlReader } from '../clock/customer-clock.js';
import { caseAccessState, dateOf, stricter, type DunningAccessState } from '../dunning/case-state.js';

export type AccessStateValue = 'NONE' | 'ACTIVE' | 'TRIALING' | 'GRACE' | 'SOFT_SUSPENDED' | 'SUSPENDED';

/** Access state per customer id (cus_…); every id asked for is in the map. `now` defaults to the customer's clock. */
export async function accessStatesOf(em: SqlReader, customerIds: readonly string[], now?: Date): Promise<Map<string, AccessStateValue>> {
  const states = new Map<string, AccessStateValue>(customerIds.map((id) => [id, 'NONE']));
  if (customerIds.length === 0) return states;
  const ids = [...new Set(customerIds)];
  const marks = placeholders(ids.length);
  const rows = await em.execute<{ customer_id: string; status: string }[]>(
    `select customer_id, status from subscriptions where customer_id in (${marks}) and status in ('active', 'trialing', 'past_due')`,
    ids,
  );
  for (const row of rows) {
    const next: AccessStateValue = row.status === 'trialing' ? 'TRIALING' : row.status === 'past_due' ? 'GRACE' : 'ACTIVE';
    const current = states.get(row.customer_id);
    if (current === 'NONE' || current === 'TRIALING' || (current === 'GRACE' && next === 'ACTIVE')) states.set(row.customer_id, next);
  }

  const cases = await em.execute<{ customer_id: string; soft_suspend_at: Date | string | null; suspend_at: Date | string | null }[]>(
    `select customer_id, soft_suspend_at, suspend_at from dunning_cases where status = 'open' and customer_id in (${marks})`,
    ids,
  );
  if (cases.length === 0) return states;
  const nows = now ? null : await customerNowOf(em, [...new Set(cases.map((c) => c.customer_id))]);
  const dunned = new Map<string, DunningAccessState>();
  for (const c of cases) {
    const at = now ?? nows!.get(c.customer_id)!;
    dunned.set(c.customer_id, stricter(dunned.get(c.customer_id), caseAccessState({ softSuspendAt: dateOf(c.soft_suspend_at), suspendAt: dateOf(c.suspend_at) }, at)));
  }
  for (const [id, state] of dunned) states.set(id, state);
  return states;
}
