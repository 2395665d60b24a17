/**
 * Dunning wired together: which Stripe events move a case (the webhook worker's `afterEvent`, in the
 * event's transaction, after the mirror write), running due steps (also for the ticker), and what a
 * step emits: a PAYMENT_FAILED BillingEvent (stored with the transaction, published after it commits)
 * and, after the commit, each notifier.
 *
 * Routing:
 * - any `invoice.*` event: close the invoice's case if the mirrored invoice is no longer open (paid,
 *   void, uncollectible); on `invoice.payment_failed`, open or advance it; then run the customer's due steps;
 * - `test_helpers.test_clock.ready`: the clock moved, run every due step (customers on other clocks or
 *   on wall time are checked as well; the ticker would find them anyway).
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { afterCommit } from '../../db/after-commit.js';
import { billingEventId, type SignalDraft } from '../signals/derive.js';
import type { Logger } from '../../log.js';
import { flushMirrorRows } from '../../stripe/mirror/batch.js';
import type { AfterEventHook } from '../../stripe/webhooks/after-event.js';
import { batchInvoices, caseMayOpen, closeSettledCases, type ClosedCase } from './close-settled.js';
import { dunningMetrics } from './metrics.js';
import { closedNotification, stepNotification, type DunningNotification, type DunningNotifier } from './notification.js';
import { openOrAdvanceCase } from './open-or-advance.js';
import { runDueSteps, type ExecutedStep } from './run-due-steps.js';
import type { DunningSchedule } from '../../dunning-schedule.js';

export interface DunningDeps {
  schedule: DunningSchedule;
  /** Where step BillingEvents are stored and published (the signals pipeline); none: not emitted. */
  signals?: { record(em: EntityManager, drafts: SignalDraft[]): Promise<void> };
  notifiers: DunningNotifier[];
  log: Logger;
}

export interface Dunning {
  afterEvent: AfterEventHook;
  /** Runs due steps in `em`'s transaction (all customers, or one); returns how many ran. */
  runDue(em: EntityManager, opts?: { customerId?: string }): Promise<number>;
  /** Closes every open case whose invoice the mirror shows settled (the ticker's safety net), then runs due steps. */
  sweep(em: EntityManager): Promise<number>;
  /** Stops notifier retries; resolves when nothing is in flight. */
  close(): Promise<void>;
}

/** The dedup key of a step's PAYMENT_FAILED (its BillingEvent id derives from it): once per case and step. */
const stepDedupKey = (caseId: string, index: number) => `PAYMENT_FAILED:dunning:${caseId}:${index}`;

function stepSignal(s: ExecutedStep): SignalDraft {
  return {
    dedupKey: stepDedupKey(s.caseId, s.index),
    type: 'PAYMENT_FAILED',
    occurredAt: s.dueAt,
    customerId: s.customerId,
    subscriptionId: s.subscriptionId,
    invoiceId: s.invoiceId,
    amount: s.amountDue,
    currency: s.currency,
    data: { retry: s.attempt, step: s.step.action, day: s.day, accessState: s.accessState, dunningCaseId: s.caseId },
  };
}

export function createDunning(deps: DunningDeps): Dunning {
  const log = deps.log.child({ module: 'dunning' });

  const dispatch = (notifications: DunningNotification[]) => {
    for (const n of notifications) {
      for (const notifier of deps.notifiers) {
        const failed = (err: unknown) => log.error({ notifier: notifier.name, reason: (err as Error)?.message }, 'dunning notifier failed');
        // A notifier may break its promise or throw outright: neither reaches dunning (it has committed).
        try {
          notifier.notify(n).catch(failed);
        } catch (err) {
          failed(err);
        }
      }
    }
  };

  const notifyAfterCommit = (em: EntityManager, notifications: DunningNotification[]) => {
    if (notifications.length > 0) afterCommit(em, () => dispatch(notifications));
  };

  async function runDue(em: EntityManager, opts: { customerId?: string } = {}): Promise<number> {
    let total = 0;
    // Bounded: each round moves every claimed case past now, so a full page means more cases, not the same ones.
    for (let round = 0; round < 1000; round++) {
      const { executed, claimed } = await runDueSteps(em, { customerId: opts.customerId, limit: 100 });
      total += executed.length;
      if (executed.length > 0) {
        const drafts = executed.map(stepSignal);
        await deps.signals?.record(em, drafts);
        afterCommit(em, () => {
          for (const s of executed) dunningMetrics.steps.inc({ action: s.step.action });
        });
        notifyAfterCommit(
          em,
          executed.map((s, i) => stepNotification(s, billingEventId(drafts[i]!.dedupKey))),
        );
      }
      if (claimed < 100) break;
    }
    return total;
  }

  const closeAndNotify = async (em: EntityManager, invoiceId: string | null, at: Date): Promise<ClosedCase[]> => {
    const closed = await closeSettledCases(em, invoiceId, at);
    if (closed.length > 0) {
      afterCommit(em, () => {
        for (const c of closed) dunningMetrics.cases.inc({ event: `closed_${c.reason}` });
      });
    }
    notifyAfterCommit(em, closed.map(closedNotification));
    return closed;
  };

  const afterEvent: AfterEventHook = async (em, event: Stripe.Event, handled) => {
    const type = event.type as string;
    if (type === 'test_helpers.test_clock.ready') {
      await flushMirrorRows(em);
      await runDue(em);
      return;
    }
    if (!type.startsWith('invoice.')) return;
    const invoiceId = (event.data.object as { id?: unknown }).id;
    if (typeof invoiceId !== 'string' || !invoiceId.startsWith('in_')) return;
    const at = new Date(event.created * 1000);
    // A copy the mirror skipped left the invoice row as it was, and the event that last changed the row
    // (on this path only invoice events write invoice rows) already closed what its status settles.
    const unchanged = handled?.action === 'skipped' && handled.kind === 'invoice';
    // This event's copy, just written, left the row `open`: the statement requires it not to be.
    const leftOpen = handled?.action === 'applied' && handled.kind === 'invoice' && (event.data.object as { status?: unknown }).status === 'open';
    const closed = unchanged || leftOpen ? [] : await closeAndNotify(em, invoiceId, at);
    let customerId = closed[0]?.customerId;
    // Both read invoice rows, which a worker's batch may still keep for one statement (src/stripe/mirror/batch.ts).
    if (type === 'invoice.payment_failed' || customerId) await flushMirrorRows(em);
    if (type === 'invoice.payment_failed') {
      const result = await openOrAdvanceCase(em, { invoiceId, failedAt: at, schedule: deps.schedule });
      if (result.action !== 'ignored') caseMayOpen(em, invoiceId);
      log.debug({ invoiceId, event: event.id, ...result }, 'payment failure');
      if (result.action !== 'ignored') customerId = result.customerId;
      if (result.action === 'opened') afterCommit(em, () => dunningMetrics.cases.inc({ event: 'opened' }));
    }
    if (customerId) await runDue(em, { customerId });
  };

  // In the worker's batch: which invoices' cases one statement can read for the whole batch.
  afterEvent.batch = {
    begin(em, events) {
      if (events) batchInvoices(em, events);
    },
    async end() {},
  };

  return {
    afterEvent,
    runDue,
    async sweep(em) {
      await closeAndNotify(em, null, new Date());
      return runDue(em);
    },
    async close() {
      await Promise.all(deps.notifiers.map((n) => n.close?.()));
    },
  };
}
