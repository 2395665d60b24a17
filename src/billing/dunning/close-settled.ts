/**
 * An invoice event → close the invoice's open case when the invoice is no longer `open` in the mirror:
 * `paid` (invoice.paid / payment_succeeded: access is back to the subscription's, ACTIVE), `void` or
 * `uncollectible` (the debt was written off or cancelled: no one stays suspended for it). Reads the
 * converged mirror row, so the order events arrive in does not matter. One statement. Without an
 * invoice id it sweeps every open case (the ticker: an invoice repaired by `sync --full` has no event).
 */
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { dateOf } from './case-state.js';

export interface ClosedCase {
  caseId: string;
  customerId: string;
  invoiceId: string;
  subscriptionId: string | null;
  attempt: number;
  openedAt: Date;
  closedAt: Date;
  /** The invoice's status: paid, void or uncollectible. */
  reason: string;
}

export async function closeSettledCases(em: EntityManager, invoiceId: string | null, closedAt: Date): Promise<ClosedCase[]> {
  const rows = await queryRows<{
    id: string;
    customer_id: string;
    invoice_id: string;
    subscription_id: string | null;
    attempt: number;
    opened_at: Date | string;
    close_reason: string;
  }>(
    em,
    `update dunning_cases dc
        set status = 'closed', closed_at = ?, close_reason = i.status, next_step_at = null, updated_at = now()
       from invoices i
      where i.id = dc.invoice_id ${invoiceId === null ? '' : 'and dc.invoice_id = ?'} and dc.status = 'open' and i.status <> 'open'
      returning dc.id, dc.customer_id, dc.invoice_id, dc.subscription_id, dc.attempt, dc.opened_at, dc.close_reason`,
    invoiceId === null ? [closedAt] : [closedAt, invoiceId],
  );
  return rows.map((r) => ({
    caseId: r.id,
    customerId: r.customer_id,
    invoiceId: r.invoice_id,
    subscriptionId: r.subscription_id,
    attempt: Number(r.attempt),
    openedAt: dateOf(r.opened_at)!,
    closedAt,
    reason: r.close_reason,
  }));
}
