/**
 * A customer's access state (CONTRACT.md `AccessState`): what backends and entitlements consult
 * before doing paid work.
 *
 * Interim rule, until dunning (issue 6) drives GRACE → SOFT_SUSPENDED → SUSPENDED: from subscription
 * statuses alone. The dunning work replaces the body; the signature stays.
 */
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../metrics/sql.js';

export type AccessStateValue = 'NONE' | 'ACTIVE' | 'TRIALING' | 'GRACE' | 'SOFT_SUSPENDED' | 'SUSPENDED';

/** Access state per customer id (cus_…); every id asked for is in the map. `now` defaults to the customer's clock. */
export async function accessStatesOf(em: EntityManager, customerIds: readonly string[], _now?: Date): Promise<Map<string, AccessStateValue>> {
  const states = new Map<string, AccessStateValue>(customerIds.map((id) => [id, 'NONE']));
  if (customerIds.length === 0) return states;
  const rows = await queryRows<{ customer_id: string; status: string }>(
    em,
    `select customer_id, status from subscriptions where customer_id in (${customerIds.map(() => '?').join(', ')}) and status in ('active', 'trialing', 'past_due')`,
    [...customerIds],
  );
  for (const row of rows) {
    const next: AccessStateValue = row.status === 'trialing' ? 'TRIALING' : row.status === 'past_due' ? 'GRACE' : 'ACTIVE';
    const current = states.get(row.customer_id);
    if (current === 'NONE' || current === 'TRIALING' || (current === 'GRACE' && next === 'ACTIVE')) states.set(row.customer_id, next);
  }
  return states;
}
