/**
 * Whether a caller may see an object of `customerId` (a subscription, an invoice): admins every
 * customer's; a customer token its own, and FORBIDDEN for another customer's.
 */
import type { Authentication } from '../../auth/guard.js';
import { resolveListScope, type CustomerFinder } from '../subscriptions/queries/list-scope.js';

export async function ownedByViewer(auth: Authentication, customers: CustomerFinder, customerId: string): Promise<boolean> {
  const scope = await resolveListScope(auth, customers, customerId);
  return scope.kind === 'customer' && scope.customerId === customerId;
}
