/**
 * "Now" for a customer: Stripe bills a customer on a test clock at the clock's frozen time, so every
 * time rule of ours (usage periods, dunning steps) must use the same time or it disagrees with Stripe.
 *
 * A customer on a test clock (`customers.test_clock`, sandbox) lives at the frozen time of the mirrored
 * clock (`test_clocks`, kept by the `test_helpers.test_clock.*` webhooks and by the sandbox bootstrap);
 * everyone else, and a customer whose clock is not mirrored (yet), at wall time.
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { placeholders } from '../../db/plain-rows.js';

/**
 * What these reads need of an EntityManager: raw SQL, inside its transaction when it has one
 * (`execute` joins it). A request's fork and the GraphQL loaders' PlainReader both qualify.
 */
export type SqlReader = Pick<SqlEntityManager, 'execute'>;

/** The current time per customer id (cus_…); every id asked for is in the map. One statement. */
export async function customerNowOf(em: SqlReader, customerIds: readonly string[]): Promise<Map<string, Date>> {
  const now = new Date();
  const out = new Map<string, Date>(customerIds.map((id) => [id, now]));
  if (customerIds.length === 0) return out;
  const ids = [...new Set(customerIds)];
  const rows = await em.execute<{ id: string; frozen_time: Date | string }[]>(
    `select c.id, tc.frozen_time from customers c join test_clocks tc on tc.id = c.test_clock where c.id in (${placeholders(ids.length)})`,
    ids,
  );
  for (const row of rows) out.set(row.id, new Date(row.frozen_time));
  return out;
}

export async function customerNow(em: SqlReader, customerId: string): Promise<Date> {
  return (await customerNowOf(em, [customerId])).get(customerId)!;
}
