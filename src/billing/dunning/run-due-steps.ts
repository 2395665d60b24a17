/**
 * Runs the dunning steps that have come due, each exactly once, whoever calls it (the webhook worker
 * after an invoice event or a test clock's `ready`, the ticker of any replica).
 *
 * Due means: the step's day (from the case's `opened_at`) has been reached on the CUSTOMER's clock, the
 * frozen time of its mirrored test clock, else wall time, compared in the claiming statement itself.
 * Cases are claimed `FOR UPDATE SKIP LOCKED` (two replicas never take the same case at once) and moved on
 * with an update conditional on the `step` they were read at (a stale read changes nothing). Several
 * steps due at once (the clock jumped, the ticker was down) all run, in order: each is a fact.
 */
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { caseAccessState, dateOf, type DunningAccessState } from './case-state.js';
import { dayOf, stepDueAt, type DunningSchedule, type DunningStep } from '../../dunning-schedule.js';

export interface ExecutedStep {
  caseId: string;
  customerId: string;
  invoiceId: string;
  subscriptionId: string | null;
  /** Position of the step in the case's schedule. */
  index: number;
  step: DunningStep;
  /** Stripe's attempt count for the invoice when the step ran. */
  attempt: number;
  openedAt: Date;
  /** The moment the step became due (customer clock). */
  dueAt: Date;
  day: number;
  /** The case's access state from that moment. */
  accessState: DunningAccessState;
  amountDue: number | null;
  currency: string | null;
}

interface ClaimRow {
  id: string;
  customer_id: string;
  invoice_id: string;
  subscription_id: string | null;
  step: number;
  attempt: number;
  opened_at: Date | string;
  schedule: DunningSchedule | string;
  soft_suspend_at: Date | string | null;
  suspend_at: Date | string | null;
  customer_now: Date | string;
  amount_due: number | null;
  currency: string | null;
}

export interface RunDueOptions {
  /** Only this customer's cases (after one of its invoice events). */
  customerId?: string;
  /** Cases claimed per call (default 100). */
  limit?: number;
}

export async function runDueSteps(em: EntityManager, opts: RunDueOptions = {}): Promise<{ executed: ExecutedStep[]; claimed: number }> {
  const limit = opts.limit ?? 100;
  const params: unknown[] = [];
  let filter = '';
  if (opts.customerId) {
    filter = 'and dc.customer_id = ?';
    params.push(opts.customerId);
  }
  params.push(limit);
  const rows = await queryRows<ClaimRow>(
    em,
    `select dc.id, dc.customer_id, dc.invoice_id, dc.subscription_id, dc.step, dc.attempt, dc.opened_at, dc.schedule,
            dc.soft_suspend_at, dc.suspend_at, coalesce(tc.frozen_time, now()) as customer_now, i.amount_due, i.currency
       from dunning_cases dc
       left join customers c on c.id = dc.customer_id
       left join test_clocks tc on tc.id = c.test_clock
       left join invoices i on i.id = dc.invoice_id
      where dc.status = 'open' and dc.next_step_at <= coalesce(tc.frozen_time, now()) ${filter}
      order by dc.next_step_at
      limit ?
      for update of dc skip locked`,
    params,
  );
  const moves = rows.map((row) => {
    const schedule = typeof row.schedule === 'string' ? (JSON.parse(row.schedule) as DunningSchedule) : row.schedule;
    const openedAt = dateOf(row.opened_at)!;
    const now = dateOf(row.customer_now)!;
    const from = Number(row.step);
    let to = from;
    while (to < schedule.length && stepDueAt(openedAt, schedule[to]!) <= now) to++;
    const next = schedule[to];
    return { row, schedule, openedAt, from, to, nextStepAt: next ? stepDueAt(openedAt, next) : null };
  });
  // One statement moves every claimed case (same transaction, rows still locked), each conditional on the step it was read at.
  const moved =
    moves.length === 0
      ? []
      : await queryRows<{ id: string }>(
          em,
          `update dunning_cases dc set step = m.to_step, next_step_at = m.next_step_at, updated_at = now()
             from jsonb_to_recordset(?::jsonb) as m(id uuid, from_step int, to_step int, next_step_at timestamptz)
            where dc.id = m.id and dc.step = m.from_step and dc.status = 'open'
            returning dc.id`,
          [JSON.stringify(moves.map((m) => ({ id: m.row.id, from_step: m.from, to_step: m.to, next_step_at: m.nextStepAt?.toISOString() ?? null })))],
        );
  const movedIds = new Set(moved.map((r) => r.id));
  const executed: ExecutedStep[] = [];
  for (const { row, schedule, openedAt, from, to } of moves) {
    if (!movedIds.has(row.id)) continue;
    const times = { softSuspendAt: dateOf(row.soft_suspend_at), suspendAt: dateOf(row.suspend_at) };
    for (let index = from; index < to; index++) {
      const step = schedule[index]!;
      const dueAt = stepDueAt(openedAt, step);
      executed.push({
        caseId: row.id,
        customerId: row.customer_id,
        invoiceId: row.invoice_id,
        subscriptionId: row.subscription_id,
        index,
        step,
        attempt: Number(row.attempt),
        openedAt,
        dueAt,
        day: dayOf(openedAt, dueAt),
        accessState: caseAccessState(times, dueAt),
        amountDue: row.amount_due === null ? null : Number(row.amount_due),
        currency: row.currency,
      });
    }
  }
  return { executed, claimed: rows.length };
}
