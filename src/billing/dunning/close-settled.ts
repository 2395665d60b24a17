/**
 * An invoice event → close the invoice's open case when the invoice is no longer `open` in the mirror:
 * `paid` (invoice.paid / payment_succeeded: access is back to the subscription's, ACTIVE), `void` or
 * `uncollectible` (the debt was written off or cancelled: no one stays suspended for it). Reads the
 * converged mirror row, so the order events arrive in does not matter. One statement. Without an
 * invoice id it sweeps every open case (the ticker: an invoice repaired by `sync --full` has no event).
 *
 * In the webhook worker's batch (a mirror batch) the statement is parameterised (bound values, one plan).
 * For the invoices the batch holds the object lock of (`batchInvoices`: its handled invoice events, locked
 * before the first event and to the commit), one statement at the first close reads which have open
 * cases; an invoice without one, or whose statement left none open, needs no further statement in the
 * batch until the batch itself opens a case for it (`caseMayOpen`): only an event about the invoice,
 * under that lock, opens its case.
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { queryRows } from '../../db/sql.js';
import { flushMirrorRows, mirrorBatch, type MirrorBatch } from '../../stripe/mirror/batch.js';
import { boundRows } from '../../stripe/mirror/bound-sql.js';
import { isHandledEventType } from '../../stripe/sync/handlers.js';
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

interface BatchCases {
  /** Invoices whose object lock the batch holds. */
  locked: Set<string>;
  /** Whether their open cases are still to be read. */
  unread: boolean;
  /** Locked invoices known to have no open case. */
  none: Set<string>;
}

const batchCases = new WeakMap<MirrorBatch, BatchCases>();

function casesOf(batch: MirrorBatch): BatchCases {
  let cases = batchCases.get(batch);
  if (!cases) batchCases.set(batch, (cases = { locked: new Set(), unread: false, none: new Set() }));
  return cases;
}

/** The batch's handled invoice events: the worker locks their invoices before the first one and keeps them to its commit. */
export function batchInvoices(em: EntityManager, events: readonly Stripe.Event[]): void {
  const batch = mirrorBatch(em);
  if (!batch) return;
  const cases = casesOf(batch);
  for (const event of events) {
    const id = (event.data.object as { id?: unknown }).id;
    if (event.type.startsWith('invoice.') && isHandledEventType(event.type) && typeof id === 'string' && id.startsWith('in_')) cases.locked.add(id);
  }
  cases.unread = cases.locked.size > 0;
}

/** The batch may have opened a case for `invoiceId`: its next event must look again. */
export function caseMayOpen(em: EntityManager, invoiceId: string): void {
  const batch = mirrorBatch(em);
  if (batch) batchCases.get(batch)?.none.delete(invoiceId);
}

const CLOSE_SQL = `update dunning_cases dc
       set status = 'closed', closed_at = $1::timestamptz, close_reason = i.status, next_step_at = null, updated_at = now()
      from invoices i
     where i.id = dc.invoice_id and dc.invoice_id = $2::text and dc.status = 'open' and i.status <> 'open'
 returning dc.id, dc.customer_id, dc.invoice_id, dc.subscription_id, dc.attempt, dc.opened_at, dc.close_reason`;

// The cases open before the update (the subquery sees the statement's snapshot) against those it closed:
// equal counts mean none stays open.
const CLOSE_COUNTED_SQL = `with closed as (${CLOSE_SQL})
select (select count(*)::int from dunning_cases where invoice_id = $2::text and status = 'open') as open_before,
       coalesce((select json_agg(closed) from closed), '[]'::json) as closed`;

async function closeInBatch(em: EntityManager, batch: MirrorBatch, invoiceId: string, closedAt: Date): Promise<CaseRow[]> {
  const cases = casesOf(batch);
  // The batch's invoice rows may not be written yet (a statement per batch, src/stripe/mirror/batch.ts).
  if (!cases.locked.has(invoiceId)) {
    await flushMirrorRows(em);
    return boundRows<CaseRow>(em, CLOSE_SQL, [closedAt, invoiceId]);
  }
  if (cases.unread) {
    cases.unread = false;
    const ids = [...cases.locked];
    const open = await boundRows<{ invoice_id: string }>(em, `select distinct invoice_id from dunning_cases where status = 'open' and invoice_id = any($1::text[])`, [ids]);
    const withCases = new Set(open.map((r) => r.invoice_id));
    for (const id of ids) if (!withCases.has(id)) cases.none.add(id);
  }
  if (cases.none.has(invoiceId)) return [];
  await flushMirrorRows(em);
  const [row] = await boundRows<{ open_before: number; closed: CaseRow[] }>(em, CLOSE_COUNTED_SQL, [closedAt, invoiceId]);
  const closed = row?.closed ?? [];
  if (Number(row?.open_before ?? 0) === closed.length) cases.none.add(invoiceId);
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
