/**
 * What a dunning notifier receives (and the outgoing webhook's JSON body): one per step run and one
 * when a case closes. `id` is stable, so a receiver can drop a repeated delivery.
 */
import type { DunningAccessState } from './case-state.js';
import type { ClosedCase } from './close-settled.js';
import type { ExecutedStep } from './run-due-steps.js';
import type { DunningAction } from '../../dunning-schedule.js';

export interface DunningNotification {
  id: string;
  type: 'dunning.step' | 'dunning.closed';
  caseId: string;
  customerId: string;
  invoiceId: string;
  subscriptionId: string | null;
  /** The step run (`dunning.step`). */
  step: DunningAction | null;
  /** Days since the first failure (`dunning.step`). */
  day: number | null;
  /** Stripe's payment attempts so far for the invoice. */
  attempt: number;
  /** The case's access state from this step on (`dunning.step`). */
  accessState: DunningAccessState | null;
  /** The invoice's status that closed the case: paid, void, uncollectible (`dunning.closed`). */
  closeReason: string | null;
  /** The PAYMENT_FAILED BillingEvent of the step (`dunning.step`). */
  billingEventId: string | null;
  amountDue: { amount: number; currency: string } | null;
  /** ISO-8601, on the customer's clock (test clock frozen time in the sandbox). */
  occurredAt: string;
}

export interface DunningNotifier {
  readonly name: string;
  /** Never rejects; a notifier's failure must not touch dunning. */
  notify(n: DunningNotification): Promise<void>;
  /** Stops retries in progress; resolves when nothing is in flight. */
  close?(): Promise<void>;
}

export function stepNotification(s: ExecutedStep, billingEventId: string): DunningNotification {
  return {
    id: `dunning_${s.caseId}_${s.index}`,
    type: 'dunning.step',
    caseId: s.caseId,
    customerId: s.customerId,
    invoiceId: s.invoiceId,
    subscriptionId: s.subscriptionId,
    step: s.step.action,
    day: s.day,
    attempt: s.attempt,
    accessState: s.accessState,
    closeReason: null,
    billingEventId,
    amountDue: s.amountDue !== null && s.currency ? { amount: s.amountDue, currency: s.currency } : null,
    occurredAt: s.dueAt.toISOString(),
  };
}

export function closedNotification(c: ClosedCase): DunningNotification {
  return {
    id: `dunning_${c.caseId}_closed`,
    type: 'dunning.closed',
    caseId: c.caseId,
    customerId: c.customerId,
    invoiceId: c.invoiceId,
    subscriptionId: c.subscriptionId,
    step: null,
    day: null,
    attempt: c.attempt,
    accessState: null,
    closeReason: c.reason,
    billingEventId: null,
    amountDue: null,
    occurredAt: c.closedAt.toISOString(),
  };
}

/** The one-line form (the log notifier's line), in the signals' style. */
export function notificationLine(n: DunningNotification): string {
  return n.type === 'dunning.step'
    ? `dunning_${n.step} customer=${n.customerId} invoice=${n.invoiceId} day=${n.day} retry=${n.attempt} access=${n.accessState}`
    : `dunning_closed customer=${n.customerId} invoice=${n.invoiceId} reason=${n.closeReason}`;
}
