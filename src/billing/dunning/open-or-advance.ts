/**
 * `invoice.payment_failed` → open the invoice's dunning case, or advance it (the attempt count).
 *
 * The decision reads the invoice's mirror row, which the webhook worker has just converged to Stripe's
 * current state, not the event's copy: a failure that arrives after the invoice was paid (or voided)
 * finds it no longer `open` and does nothing, so a late delivery never suspends anyone. Not dunned
 * either: a new subscription's first invoice (`subscription_create`: the subscription stays incomplete
 * and grants no access; Stripe expires it).
 *
 * Day 0 is the first failure on the customer's clock (the event's `created`: on a test clock, its frozen
 * time). Events may come out of order: an earlier failure moves `opened_at` back and the times with it.
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { dateOf } from './case-state.js';
import { restrictionTimes, stepDueAt, type DunningSchedule } from '../../dunning-schedule.js';

export interface PaymentFailure {
  invoiceId: string;
  /** When the attempt failed, on the customer's clock. */
  failedAt: Date;
  /** Copied onto a new case. */
  schedule: DunningSchedule;
}

export type OpenOrAdvanceResult =
  | { action: 'opened' | 'advanced' | 'unchanged'; caseId: string; customerId: string; attempt: number }
  | { action: 'ignored'; reason: string };

interface InvoiceFacts {
  customer_id: string;
  subscription_id: string | null;
  status: string;
  attempt_count: number;
  billing_reason: string | null;
}

interface OpenCase {
  id: string;
  step: number;
  attempt: number;
  opened_at: Date | string;
  schedule: DunningSchedule | string;
}

export async function openOrAdvanceCase(em: EntityManager, failure: PaymentFailure): Promise<OpenOrAdvanceResult> {
  const [inv] = await queryRows<InvoiceFacts>(
    em,
    'select customer_id, subscription_id, status, attempt_count, billing_reason from invoices where id = ?',
    [failure.invoiceId],
  );
  if (!inv) return { action: 'ignored', reason: 'invoice not mirrored' };
  if (inv.status !== 'open') return { action: 'ignored', reason: `invoice is ${inv.status}` };
  const attempt = Number(inv.attempt_count);
  if (attempt < 1) return { action: 'ignored', reason: 'no failed attempt' };
  if (inv.billing_reason === 'subscription_create') return { action: 'ignored', reason: "a new subscription's first invoice" };

  let existing = await openCaseOf(em, failure.invoiceId);
  if (!existing) {
    const { schedule, failedAt } = failure;
    const times = restrictionTimes(failedAt, schedule);
    const inserted = await queryRows<{ id: string }>(
      em,
      `insert into dunning_cases (id, customer_id, invoice_id, subscription_id, status, step, attempt, opened_at, next_step_at, schedule, soft_suspend_at, suspend_at, updated_at)
       values (?, ?, ?, ?, 'open', 0, ?, ?, ?, ?::jsonb, ?, ?, now())
       on conflict do nothing returning id`,
      [
        randomUUID(),
        inv.customer_id,
        failure.invoiceId,
        inv.subscription_id,
        attempt,
        failedAt,
        schedule[0] ? stepDueAt(failedAt, schedule[0]) : null,
        JSON.stringify(schedule),
        times.softSuspendAt,
        times.suspendAt,
      ],
    );
    if (inserted[0]) return { action: 'opened', caseId: inserted[0].id, customerId: inv.customer_id, attempt };
    // Opened meanwhile by another transaction: advance that one.
    existing = await openCaseOf(em, failure.invoiceId);
    if (!existing) return { action: 'ignored', reason: 'case closed concurrently' };
  }

  const openedBefore = dateOf(existing.opened_at)!;
  const openedAt = failure.failedAt < openedBefore ? failure.failedAt : openedBefore;
  const newAttempt = Math.max(Number(existing.attempt), attempt);
  if (newAttempt === Number(existing.attempt) && openedAt === openedBefore) {
    return { action: 'unchanged', caseId: existing.id, customerId: inv.customer_id, attempt: newAttempt };
  }
  const schedule = typeof existing.schedule === 'string' ? (JSON.parse(existing.schedule) as DunningSchedule) : existing.schedule;
  const next = schedule[existing.step];
  const times = restrictionTimes(openedAt, schedule);
  await queryRows(
    em,
    `update dunning_cases set attempt = ?, opened_at = ?, next_step_at = ?, soft_suspend_at = ?, suspend_at = ?, updated_at = now() where id = ?`,
    [newAttempt, openedAt, next ? stepDueAt(openedAt, next) : null, times.softSuspendAt, times.suspendAt, existing.id],
  );
  return { action: 'advanced', caseId: existing.id, customerId: inv.customer_id, attempt: newAttempt };
}

/** The invoice's open case, locked for this transaction. */
async function openCaseOf(em: EntityManager, invoiceId: string): Promise<OpenCase | undefined> {
  const [row] = await queryRows<OpenCase>(
    em,
    `select id, step, attempt, opened_at, schedule from dunning_cases where invoice_id = ? and status = 'open' for update`,
    [invoiceId],
  );
  return row;
}
