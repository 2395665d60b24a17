/**
 * Who a usage record is for and whether it may be recorded: shared by `reportUsage` and
 * `reportUsageBatch`. Errors are returned, not thrown, so a batch can name every bad record.
 */
import { resolveCustomerScope, requireViewer, assertCustomerInScope, type Authentication, type CustomerScope } from '../../auth/guard.js';
import { AppError, badUserInput, notFound } from '../../errors.js';
import type { Catalog } from '../../catalog.js';
import type { NewUsageRow } from './ledger.js';
import { catalogIndex, refKey, subscriptionsCarrying, usageWindow, type UsageCustomer } from './metered-customers.js';
import type { UsageInput } from './rules.js';

/**
 * A customer token reports for itself (customerId omitted, or its own); an admin must name the
 * customer (cus_… or externalId): an admin's own `sub` is not a billing customer.
 */
export function usageScope(auth: Authentication, customerId: string | null | undefined, field = 'customerId'): CustomerScope {
  const viewer = requireViewer(auth);
  if (viewer.role === 'admin' && (customerId === undefined || customerId === null || customerId === '')) {
    throw badUserInput(field, 'Admins must name the customer the usage is for: customerId (cus_… or externalId)');
  }
  return resolveCustomerScope(auth, customerId);
}

/** The loaded customer of a scope: FORBIDDEN for another's, NOT_FOUND for an admin's unknown id, BAD_USER_INPUT for a caller with no billing account yet. */
export function scopedUsageCustomer(scope: CustomerScope, customers: Map<string, UsageCustomer>, field = 'customerId'): UsageCustomer {
  const customer = assertCustomerInScope(scope, customers.get(refKey(scope.ref)) ?? null);
  if (customer) return customer;
  if (scope.viewer.role === 'admin') throw notFound('Customer');
  throw badUserInput(field, 'This customer has no subscription yet: subscribe before reporting usage');
}

export interface RecordPlan {
  row: NewUsageRow;
  /** The catalog meter id the caller named (the ledger stores the Stripe event name). */
  meterId: string;
}

/** Checks one record against the catalog, the customer's subscriptions and the window of its periods. */
export function planUsageRecord(catalog: Catalog, customer: UsageCustomer, input: UsageInput, now: Date, prefix = ''): RecordPlan | AppError {
  const meter = catalogIndex(catalog).meters.get(input.meter);
  if (!meter) return badUserInput(`${prefix}meter`, `Unknown meter "${input.meter}"; the catalog has: ${catalog.meters.map((m) => m.id).join(', ') || 'none'}`);
  if (customer.subscriptions.length === 0) {
    return badUserInput(`${prefix}customerId`, 'This customer has no active subscription: usage is recorded against a subscription whose plan has the meter');
  }
  const carriers = subscriptionsCarrying(catalog, customer, meter.id);
  if (carriers.length === 0) return badUserInput(`${prefix}meter`, `Meter "${meter.id}" is not on this customer's plan`);
  const timestamp = input.timestamp ?? now;
  const windows = carriers.map((c) => usageWindow(c, now));
  const t = timestamp.getTime();
  if (!windows.some((w) => t >= w.from.getTime() && t < w.to.getTime())) {
    const { from, to } = windows[0]!;
    return badUserInput(
      `${prefix}timestamp`,
      `timestamp must fall in the current or previous billing period (${from.toISOString()} to ${new Date(to.getTime() - 1).toISOString()}) and at most 5 minutes ahead of now`,
    );
  }
  return { meterId: meter.id, row: { customerId: customer.id, meter: meter.eventName, quantity: input.quantity, timestamp, idempotencyKey: input.idempotencyKey } };
}
