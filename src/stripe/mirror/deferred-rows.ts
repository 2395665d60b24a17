/**
 * Child rows written once per batch: within `withDeferredChildRows(em, fn)`, the invoice lines and
 * subscription items that `upsertInvoice` and `upsertSubscription` would write (one upsert and one
 * delete per object) are kept, the last copy of each object winning, and written in one upsert and one
 * delete per table when `fn` is done, in the same transaction. Nothing the webhook worker runs between
 * (the convergence rule, signals, dunning) reads these tables: they read the parent rows, which are
 * still written at once.
 */
import type { EntityData, EntityManager } from '@mikro-orm/core';
import { InvoiceLine } from '../../db/entities/invoice.js';
import { SubscriptionItem } from '../../db/entities/subscription.js';

// Typed by the entities rather than by the mirror's row builders, which import this module.
type ChildRow<T> = EntityData<T> & { id: string };

export class DeferredChildRows {
  /** Invoice id → its lines as last written. */
  readonly invoiceLines = new Map<string, ChildRow<InvoiceLine>[]>();
  /** Subscription id → its items as last written. */
  readonly subscriptionItems = new Map<string, ChildRow<SubscriptionItem>[]>();
}

const open = new WeakMap<object, DeferredChildRows>();

/** The buffer of the transaction behind `em`, when one is open. */
export function deferredChildRows(em: EntityManager): DeferredChildRows | undefined {
  const tx = em.getTransactionContext();
  return tx ? open.get(tx as object) : undefined;
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
