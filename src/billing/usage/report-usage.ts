/**
 * `reportUsage`: one usage record into the ledger, counted once per (customer, idempotency key)
 * forever. On the usual path one statement, the insert (shared with concurrent calls: `insert-queue.ts`):
 * the customer with its live subscriptions comes from a one-second cache (`loadUsageCustomerCached`),
 * else one more statement.
 * A key already recorded returns the original record with `duplicate: true` and adds nothing, even
 * when this call's quantity differs, and even when this call would no longer pass validation (a retry
 * after the period moved on still gets its original answer).
 */
import type { Authentication } from '../../auth/guard.js';
import type { Em } from '../../db/orm.js';
import { AppError } from '../../errors.js';
import { customerNow } from '../clock/customer-clock.js';
import type { Catalog } from '../../catalog.js';
import { findUsageRows, usagePairKey, type LedgerRow } from './ledger.js';
import { queueUsageInsert } from './insert-queue.js';
import { catalogIndex, forgetUsageCustomer, loadUsageCustomerCached, type UsageCustomer } from './metered-customers.js';
import { planUsageRecord, scopedUsageCustomer, usageScope } from './plan-record.js';
import { checkUsageShape, type UsageInput } from './rules.js';

export interface UsageDeps {
  em: Em;
  catalog: Catalog;
}

/** A ledger record as the API shows it (`meter` is the catalog meter id). */
export interface UsageRecordView {
  id: string;
  meter: string;
  quantity: number;
  timestamp: Date;
  idempotencyKey: string;
  duplicate: boolean;
}

export function toRecordView(catalog: Catalog, row: LedgerRow, duplicate: boolean): UsageRecordView {
  const meter = catalogIndex(catalog).meterIdByEventName.get(row.meter) ?? row.meter;
  return { id: row.id, meter, quantity: row.quantity, timestamp: row.timestamp, idempotencyKey: row.idempotencyKey, duplicate };
}

/**
 * The customer's "now" (customer-clock.ts): a customer on no test clock lives at wall time, so only a
 * sandbox customer on a clock costs the clock read (never cached: the clock moves when advanced).
 */
function nowOf(em: Em, customer: UsageCustomer): Promise<Date> | Date {
  return customer.testClock ? customerNow(em, customer.id) : new Date();
}

export async function reportUsage(deps: UsageDeps, auth: Authentication, input: UsageInput): Promise<UsageRecordView> {
  const scope = usageScope(auth, input.customerId);
  checkUsageShape(input);
  const { customers, cached } = await loadUsageCustomerCached(deps.em, scope.ref);
  let customer = scopedUsageCustomer(scope, customers);
  let plan = planUsageRecord(deps.catalog, customer, input, await nowOf(deps.em, customer));
  if (plan instanceof AppError && cached) {
    // Cached facts refused it: decide on fresh ones (e.g. the subscription started a moment ago).
    forgetUsageCustomer(deps.em, scope.ref);
    customer = scopedUsageCustomer(scope, (await loadUsageCustomerCached(deps.em, scope.ref)).customers);
    plan = planUsageRecord(deps.catalog, customer, input, await nowOf(deps.em, customer));
  }
  if (plan instanceof AppError) {
    const original = (await findUsageRows(deps.em, [{ customerId: customer.id, idempotencyKey: input.idempotencyKey }])).get(usagePairKey(customer.id, input.idempotencyKey));
    if (original) return toRecordView(deps.catalog, original, true);
    throw plan;
  }
  const { row, inserted } = await queueUsageInsert(deps.em, plan.row);
  return toRecordView(deps.catalog, row, !inserted);
}
