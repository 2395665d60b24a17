/**
 * Which customer's rows a list query (`subscriptions`, `invoices`) may show, per docs/api.md (tokens and roles):
 * no customerId → a customer token sees its own rows, an admin every customer's; with a
 * customerId (cus_… or externalId) → admins any, a customer token only its own (else FORBIDDEN).
 */
import { assertCustomerInScope, requireViewer, resolveCustomerScope, type Authentication, type CustomerRef } from '../../../auth/guard.js';
import type { Customer } from '../../../db/entities/customer.js';

export type ListScope =
  /** Admin, no customer named. */
  | { kind: 'all' }
  | { kind: 'customer'; customerId: string }
  /** The customer does not exist (yet): an empty list. */
  | { kind: 'none' };

export interface CustomerFinder {
  find(ref: CustomerRef): Promise<Omit<Customer, 'raw'> | null>;
}

export async function resolveListScope(auth: Authentication, customers: CustomerFinder, customerId: string | null | undefined): Promise<ListScope> {
  if (customerId === null || customerId === undefined) {
    const viewer = requireViewer(auth);
    if (viewer.role === 'admin') return { kind: 'all' };
  }
  const scope = resolveCustomerScope(auth, customerId);
  // An admin naming a cus_ id needs no mirrored customer row: its subscriptions may be mirrored first.
  if (!scope.ownOnly && scope.viewer.role === 'admin' && scope.ref.kind === 'stripeId') return { kind: 'customer', customerId: scope.ref.id };
  const row = assertCustomerInScope(scope, await customers.find(scope.ref));
  return row ? { kind: 'customer', customerId: row.id } : { kind: 'none' };
}
