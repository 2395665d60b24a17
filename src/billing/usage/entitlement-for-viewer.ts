/**
 * `entitlement(feature, customerId)`: may the customer use a plan feature or meter now? Customers ask
 * for themselves; admins name a customer (cus_… or externalId). An admin naming an unknown customer
 * is told so (NOT_FOUND); a caller with no billing customer yet is simply not entitled.
 */
import { assertCustomerInScope, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import { notFound } from '../../errors.js';
import type { CustomerFinder } from '../subscriptions/queries/list-scope.js';
import type { EntitlementView } from './entitlements.js';
import type { UsageService } from './usage-service.js';

export async function entitlementForViewer(
  deps: { customers: CustomerFinder; usage: Pick<UsageService, 'entitlement'> },
  auth: Authentication,
  input: { feature: string; customerId?: string | null },
): Promise<EntitlementView & { owner: string }> {
  const scope = resolveCustomerScope(auth, input.customerId);
  const row = assertCustomerInScope(scope, await deps.customers.find(scope.ref));
  if (!row && input.customerId && scope.viewer.role === 'admin') throw notFound('Customer');
  // The owner keys the answer for client caches: the customer, or the caller's subject before it has one.
  const owner = row?.id ?? `sub:${scope.viewer.sub}`;
  return { ...(await deps.usage.entitlement(row?.id ?? null, input.feature)), owner };
}
