/**
 * Child rows written once per batch: within `withDeferredChildRows(em, fn)`, the invoice lines and
 * subscription items that `upsertInvoice` and `upsertSubscription` would write (one upsert and one
 * delete per object) are kept, the last copy of each object winning, and written in one statement per
 * table (an upsert, with the delete of the rows gone alongside) when `fn` is done, in the same
 * transaction, after the batch's kept parent rows (./batch.ts). Nothing the webhook worker runs between
 * (the convergence rule, signals, dunning) reads these tables: they read the parent rows.
 */
import type { EntityData, EntityManager } from '@mikro-orm/core';
import { InvoiceLine } from '../../db/entities/invoice.js';
import { SubscriptionItem } from '../../db/entities/subscription.js';
import { flushMirrorRows, mirrorBatch, upsertManyRows } from './batch.js';
import { boundRows } from './bound-sql.js';

// Typed by the entities rather than by the mirror's row builders, which import this module.
type ChildRow<T> = EntityData<T> & { id: string };

export class DeferredChildRows {
  /** Invoice id → its lines as last written. */
  readonly invoiceLines = new Map<string, ChildRow<InvoiceLine>[]>();
  /** Subscription id → its items as last written. */
  readonly subscriptionItems = new Map<string, ChildRow<SubscriptionItem>[]>();
}

interface ChildKinds {
  invoiceLines: ChildRow<InvoiceLine>;
  subscriptionItems: ChildRow<SubscriptionItem>;
}

const open = new WeakMap<object, DeferredChildRows>();

/** The buffer of the transaction behind `em`, when one is open. */
export function deferredChildRows(em: EntityManager): DeferredChildRows | undefined {
  const tx = em.getTransactionContext();
  return tx ? open.get(tx as object) : undefined;
}

/**
 * An object's child rows, and the removal of those no longer on it: kept for the end inside
 * `withDeferredChildRows` (the last copy of the object winning), else written now.
 */
export async function writeChildRows<K extends keyof ChildKinds>(em: EntityManager, kind: K, parentId: string, rows: ChildKinds[K][]): Promise<void> {
  const deferred = deferredChildRows(em);
  const buffer = deferred ?? new DeferredChildRows();
  (buffer[kind] as Map<string, ChildKinds[K][]>).set(parentId, rows);
  if (!deferred) await flushWithOrm(em, buffer);
}

/** Runs `fn` with child rows deferred to its end (needs a transaction; without one, or nested, `fn` just runs). */
export async function withDeferredChildRows<T>(em: EntityManager, fn: () => Promise<T>): Promise<T> {
  const tx = em.getTransactionContext() as object | undefined;
  if (!tx || open.has(tx)) return fn();
  const buffer = new DeferredChildRows();
  open.set(tx, buffer);
  try {
    const result = await fn();
    await flush(em, buffer);
    return result;
  } finally {
    open.delete(tx);
  }
}

async function flush(em: EntityManager, buffer: DeferredChildRows): Promise<void> {
  if (!mirrorBatch(em)) return flushWithOrm(em, buffer);
  // The parents first: the batch's last reads of them are done, and the children follow them.
  await flushMirrorRows(em);
  await flushTable(em, InvoiceLine, 'invoice_lines', 'invoice_id', buffer.invoiceLines);
  await flushTable(em, SubscriptionItem, 'subscription_items', 'subscription_id', buffer.subscriptionItems);
}

/**
 * One table's rows in one statement: the upsert (bound values, as the mirror batch's parent rows) with
 * the delete of the rows gone alongside it (the two touch different rows: those kept, those not).
 */
async function flushTable(em: EntityManager, entity: typeof InvoiceLine | typeof SubscriptionItem, table: string, parentColumn: string, byParent: Map<string, { id: string }[]>): Promise<void> {
  if (byParent.size === 0) return;
  const rows = [...byParent.values()].flat();
  const gone = (first: number) => `delete from "${table}" where "${parentColumn}" = any($${first}::text[]) and not ("id" = any($${first + 1}::text[]))`;
  const params = [[...byParent.keys()], rows.map((r) => r.id)];
  if (rows.length === 0) await boundRows(em, gone(1), params);
  else await upsertManyRows(em, entity, table, rows as Record<string, unknown>[], { alongside: { sql: (first) => `gone as (${gone(first)})`, params } });
}

/** Outside a mirror batch (one event, PGlite): through MikroORM. */
async function flushWithOrm(em: EntityManager, buffer: DeferredChildRows): Promise<void> {
  if (buffer.invoiceLines.size > 0) {
    const rows = [...buffer.invoiceLines.values()].flat();
    if (rows.length > 0) await em.upsertMany(InvoiceLine, rows);
    await em.nativeDelete(InvoiceLine, { invoiceId: { $in: [...buffer.invoiceLines.keys()] }, ...(rows.length > 0 ? { id: { $nin: rows.map((r) => r.id) } } : {}) });
  }
  if (buffer.subscriptionItems.size > 0) {
    const rows = [...buffer.subscriptionItems.values()].flat();
    if (rows.length > 0) await em.upsertMany(SubscriptionItem, rows);
    await em.nativeDelete(SubscriptionItem, {
      subscriptionId: { $in: [...buffer.subscriptionItems.keys()] },
      ...(rows.length > 0 ? { id: { $nin: rows.map((r) => r.id) } } : {}),
    });
  }
}
