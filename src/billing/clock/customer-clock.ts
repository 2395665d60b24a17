/**
 * "Now" for a customer: Stripe bills a customer on a test clock at the clock's frozen time, so every
 * time rule of ours (usage periods, dunning steps) must use the same time or it disagrees with Stripe.
 *
 * Interim rule, until the test-clock mirror (issue 6, dunning) lands: wall time for everyone. The
 * signature stays; the body will read the customer's mirrored test clock.
 */
import type { EntityManager } from '@mikro-orm/core';

/** The current time per customer id (cus_…); every id asked for is in the map. */
export async function customerNowOf(_em: EntityManager, customerIds: readonly string[]): Promise<Map<string, Date>> {
  const now = new Date();
  return new Map(customerIds.map((id) => [id, now]));
}

export async function customerNow(em: EntityManager, customerId: string): Promise<Date> {
  return (await customerNowOf(em, [customerId])).get(customerId)!;
}
