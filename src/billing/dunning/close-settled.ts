/**
 * An invoice event → close the invoice's open case when the invoice is no longer `open` in the mirror:
 * `paid` (invoice.paid / payment_succeeded: access is back to the subscription's, ACTIVE), `void` or
 * `uncollectible` (the debt was written off or cancelled: no one stays suspended for it). Reads the
 * converged mirror row, so the order events arrive in does not matter. One statement. Without an
 * invoice id it sweeps every open case (the ticker: an invoice repaired by `sync --full` has no event).
 *
 * In the webhook worker's batch (a mirror batch) the statement is parameterised (bound values, one plan)
 * and also reports whether the invoice had open cases it did not close; when it had none, the batch's
 * further events about that invoice skip the statement. That holds until the batch opens a case for the
 * invoice itself (`caseMayOpen`): the batch holds the invoice's object lock to its commit, and only an
 * event about the invoice, under that lock, opens its case.
 */
import type { EntityManager } from '@mikro-orm/core';
import { queryRows } from '../../db/sql.js';
import { mirrorBatch, type MirrorBatch } from '../../stripe/mirror/batch.js';
import { boundRows } from '../../stripe/mirror/bound-sql.js';
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

interface CaseRow {
  id: string;
  customer_id: string;
  invoice_id: string;
  subscription_id: string | null;
  attempt: number;
  opened_at: Date | string;
  close_reason: string;
}

/** Per mirror batch: invoices known to have no open case (nothing to close until the batch opens one). */
const noOpenCase = new WeakMap<MirrorBatch, Set<string>>();

/** The batch may have opened a case for `invoiceId`: its next event must look again. */
export function caseMayOpen(em: EntityManager, invoiceId: string): void {
  const batch = mirrorBatch(em);
  if (batch) noOpenCase.get(batch)?.delete(invoiceId);
}

// The cases open before the update (the subquery sees the statement's snapshot) against those it closed:
// equal counts mean none stays open.
const BATCH_CLOSE_SQL = `with closed as (
    update dunning_cases dc
       set status = 'closed', closed_at = $1::timestamptz, close_reason = i.status, next_step_at = null, updated_at = now()
      from invoices i
     where i.id = dc.invoice_id and dc.invoice_id = $2::text and dc.status = 'open' and i.status <> 'open'
 returning dc.id, dc.customer_id, dc.invoice_id, dc.subscription_id, dc.attempt, dc.opened_at, dc.close_reason)
select (select count(*)::int from dunning_cases where invoice_id = $2::text and status = 'open') as open_before,
       coalesce((select json_agg(closed) from closed), '[]'::json) as closed`;

async function closeInBatch(em: EntityManager, batch: MirrorBatch, invoiceId: string, closedAt: Date): Promise<CaseRow[]> {
  let known = noOpenCase.get(batch);
  if (!known) noOpenCase.set(batch, (known = new Set()));
  if (known.has(invoiceId)) return [];
  const [row] = await boundRows<{ open_before: number; closed: CaseRow[] }>(em, BATCH_CLOSE_SQL, [closedAt, invoiceId]);
  const closed = row?.closed ?? [];
  if (Number(row?.open_before ?? 0) === closed.length) known.add(invoiceId);
  return closed;
}

export async function closeSettledCases(em: EntityManager, invoiceId: string | null, closedAt: Date): Promise<ClosedCase[]> {
  const batch = invoiceId === null ? undefined : mirrorBatch(em);
  const rows = batch
    ? await closeInBatch(em, batch, invoiceId!, closedAt)
    : await queryRows<CaseRow>(
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
