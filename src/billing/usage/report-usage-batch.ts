/**
 * `reportUsageBatch`: up to 1,000 records in one call, all or nothing. Every record is checked first;
 * if any is bad the call fails with BAD_USER_INPUT naming the first bad field as `input[i].field`
 * and listing every bad record in `extensions.errors` (nothing is stored, the caller fixes and
 * resends the same keys). Otherwise one transaction with one multi-row insert; the answer has one
 * record per input, in order, each with `duplicate` (a key seen before, or earlier in this batch).
 */
import { AppError, badUserInput } from '../../errors.js';
import type { Authentication, CustomerScope } from '../../auth/guard.js';
import { customerNowOf } from '../clock/customer-clock.js';
import { findUsageRows, insertUsageRows, usagePairKey } from './ledger.js';
import { loadUsageCustomers, type UsageCustomer } from './metered-customers.js';
import { planUsageRecord, scopedUsageCustomer, usageScope, type RecordPlan } from './plan-record.js';
import { toRecordView, type UsageDeps, type UsageRecordView } from './report-usage.js';
import { checkUsageShape, MAX_USAGE_BATCH, type UsageInput } from './rules.js';

interface BatchError {
  index: number;
  field: string;
  message: string;
}

function batchFailure(errors: BatchError[]): AppError {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more bad records, see extensions.errors)` : '';
  return new AppError('BAD_USER_INPUT', `input[${first.index}]: ${first.message}${more}; nothing was recorded`, {
    field: first.field,
    index: first.index,
    errors: errors.slice(0, 100),
  });
}

export async function reportUsageBatch(deps: UsageDeps, auth: Authentication, inputs: readonly UsageInput[]): Promise<UsageRecordView[]> {
  if (inputs.length > MAX_USAGE_BATCH) throw badUserInput('input', `At most ${MAX_USAGE_BATCH} records per call (got ${inputs.length})`);
  if (inputs.length === 0) return [];
  const errors: BatchError[] = [];
  const collect = (index: number, err: unknown) => {
    if (!(err instanceof AppError) || err.code !== 'BAD_USER_INPUT') throw err;
    errors.push({ index, field: String(err.extensions.field ?? `input[${index}]`), message: err.message });
  };

  // Authorisation first (FORBIDDEN is not a per-record error: the whole call is refused).
  const scopes: CustomerScope[] = inputs.map((input, i) => usageScope(auth, input.customerId, `input[${i}].customerId`));
  inputs.forEach((input, i) => {
    try {
      checkUsageShape(input, `input[${i}].`);
    } catch (err) {
      collect(i, err);
    }
  });
  if (errors.length > 0) throw batchFailure(errors);

  const customers = await loadUsageCustomers(deps.em, scopes.map((s) => s.ref));
  const resolved: (UsageCustomer | null)[] = scopes.map((scope, i) => {
    try {
      return scopedUsageCustomer(scope, customers, `input[${i}].customerId`);
    } catch (err) {
      collect(i, err);
      return null;
    }
  });
  // Only customers on a test clock cost the clock read (as in report-usage.ts); the others live at wall time.
  const onClock = [...new Set(resolved.flatMap((c) => (c?.testClock ? [c.id] : [])))];
  const nows = onClock.length > 0 ? await customerNowOf(deps.em, onClock) : new Map<string, Date>();
  const wallNow = new Date();
  const plans: (RecordPlan | null)[] = inputs.map((input, i) => {
    const customer = resolved[i];
    if (!customer) return null;
    const plan = planUsageRecord(deps.catalog, customer, input, nows.get(customer.id) ?? wallNow, `input[${i}].`);
    if (plan instanceof AppError) {
      collect(i, plan);
      return null;
    }
    return plan;
  });

  return deps.em.transactional(async (tx) => {
    // A record that fails now but whose key is already recorded is a retry: it gets its original.
    const retried = await findUsageRows(
      tx,
      errors.flatMap((e) => (resolved[e.index] ? [{ customerId: resolved[e.index]!.id, idempotencyKey: inputs[e.index]!.idempotencyKey }] : [])),
    );
    const still = errors.filter((e) => !(resolved[e.index] && retried.has(usagePairKey(resolved[e.index]!.id, inputs[e.index]!.idempotencyKey))));
    if (still.length > 0) throw batchFailure(still.sort((a, b) => a.index - b.index));
    // A (customer, key) pair twice in the batch is inserted once; its first occurrence is the fresh one.
    const planned = plans.flatMap((p, i) => (p ? [{ index: i, row: p.row }] : []));
    const answers = await insertUsageRows(tx, planned.map((p) => p.row));
    const answerOf = new Map(planned.map((p, n) => [p.index, answers[n] ?? null] as const));
    return inputs.map((input, i) => {
      if (!answerOf.has(i)) {
        const row = retried.get(usagePairKey(resolved[i]!.id, input.idempotencyKey));
        if (!row) throw new Error('usage batch: a record has no ledger row');
        return toRecordView(deps.catalog, row, true);
      }
      const answer = answerOf.get(i);
      if (!answer) throw new Error('usage batch: a record has no ledger row');
      return toRecordView(deps.catalog, answer.row, !answer.inserted);
    });
  });
}
