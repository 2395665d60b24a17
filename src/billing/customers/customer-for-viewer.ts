/**
 * `customer(id)` and `node(cus_…)`: the customer a caller may read. No id: its own (null before its
 * first subscribe). An admin may name any customer, by cus_… or externalId; a customer token only
 * itself (another customer's, or an unknown cus_… id: FORBIDDEN, so ids cannot be probed).
 */
import { assertCustomerInScope, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import type { CustomerReadWants } from './customer-read.js';
import type { CustomerRow } from './customer-read.js';
import type { CustomerService } from './customer-service.js';

export async function customerForViewer(
  customers: Pick<CustomerService, 'find' | 'findWith'>,
  auth: Authentication,
  id: string | null | undefined,
  /** What the caller reads next (subscriptions, an invoice page), fetched in the same statement. */
  wants?: CustomerReadWants,
): Promise<CustomerRow | null> {
  const scope = resolveCustomerScope(auth, id);
  // A customer token naming a cus_… id reads nothing more until the row proves it is its own.
  const row = scope.ownOnly || !wants ? await customers.find(scope.ref) : await customers.findWith(scope.ref, wants);
  return assertCustomerInScope(scope, row);
}
