/**
 * `subscriptions(customerId, status, first)`: newest first, at most `first` (1-1000). No customerId:
 * a customer token its own, an admin everyone's; with one, admins any customer's and a customer
 * token only its own (see `resolveListScope`).
 */
import type { Authentication } from '../../../auth/guard.js';
import type { Subscription } from '../../../db/entities/subscription.js';
import { badUserInput } from '../../../errors.js';
import { resolveListScope, type CustomerFinder } from './list-scope.js';
import type { SubscriptionQueries, SubscriptionStatusValue } from './subscription-queries.js';

export const SUBSCRIPTIONS_DEFAULT_FIRST = 100;
export const SUBSCRIPTIONS_MAX_FIRST = 1000;

export interface ListSubscriptionsDeps {
  customers: CustomerFinder;
  subscriptionQueries: SubscriptionQueries;
}

export async function listSubscriptions(
  deps: ListSubscriptionsDeps,
  auth: Authentication,
  input: { customerId?: string | null; statuses?: readonly SubscriptionStatusValue[] | null; first?: number | null },
): Promise<Subscription[]> {
  const limit = input.first ?? SUBSCRIPTIONS_DEFAULT_FIRST;
  if (!Number.isInteger(limit) || limit < 1 || limit > SUBSCRIPTIONS_MAX_FIRST) throw badUserInput('first', `first must be between 1 and ${SUBSCRIPTIONS_MAX_FIRST}`);
  const scope = await resolveListScope(auth, deps.customers, input.customerId);
  const q = deps.subscriptionQueries;
  const statuses = input.statuses ?? null;
  if (scope.kind === 'all') return q.all(statuses, limit);
  if (scope.kind === 'customer') return (await q.forCustomer(scope.customerId, statuses)).slice(0, limit);
  return [];
}
