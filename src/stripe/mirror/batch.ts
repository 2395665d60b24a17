/**
 * A batch of mirror writes in one transaction (the webhook worker's): inside `withMirrorBatch(em, fn)`
 * the writers store parent rows with bound statements of their own instead of MikroORM's upsert (no
 * entity copy, no identity map: nothing in the batch reads the rows back as entities, and the
 * transaction's EntityManager is dropped at its end); customer, subscription and invoice rows and event
 * MRR points are kept and written in one statement per table for the batch (`keep`); and the
 * subscription writer records what each write changed in the MRR totals (`mrrDeltas`), so billing
 * signals can step MRR from memory instead of reading the totals after every subscription event.
 */
import type { EntityClass, EntityManager } from '@mikro-orm/core';
import type { Fraction } from '../../mrr/index.js';
import { upsertRows } from './bound-sql.js';

/** What one subscription write added to a currency's counting MRR ('active' totals): signed. */
export interface MrrDelta {
  /** Lower-case, as the totals key it. */
  currency: string;
  exact: Fraction;
  /** +1, −1 or 0: counting subscriptions added. */
  subscriptions: number;
}

/** What a subscription row counts in the MRR totals, as the batch last wrote or read it. */
export interface CountedMrr {
  status: string;
  currency: string;
  numerator: string | null;
  denominator: string | null;
}

/** Writes of one kind kept for one statement: key → value (the last one winning), and how to write them. */
interface KeptWrites {
  values: Map<string, unknown>;
  write(em: EntityManager, values: unknown[]): Promise<void>;
}

export class MirrorBatch {
  /** In write order. */
  readonly mrrDeltas: MrrDelta[] = [];
  /** Writes not made yet, by kind (`keep`). */
  readonly kept = new Map<string, KeptWrites>();
  /**
   * Subscription id → what its row counts (null: no row), as read under the batch's locks or last
   * written by it: the previous value of a write's MRR delta without reading the row back.
   */
  readonly subscriptionMrr = new Map<string, CountedMrr | null>();
  /**
   * Set by a reader of the revenue history that defers its reads to the batch's end (billing signals'
   * movement kinds): called before a write that changes a customer's movements (its subscription rows and
   * MRR points), so reads asked for before it still see the history as it was when they were asked.
   */
  beforeCustomerWrite?: (em: EntityManager, customerId: string) => Promise<void>;
}

/**
 * Kinds are written in this order (a customer before the rows that name it, a subscription before its
 * invoices and points); other kinds after them, in the order they were first kept.
 */
const FLUSH_ORDER = ['customers', 'subscriptions', 'invoices', 'subscription_mrr_points'];
const flushRank = (kind: string) => {
  const i = FLUSH_ORDER.indexOf(kind);
  return i < 0 ? FLUSH_ORDER.length : i;
};

const open = new WeakMap<object, MirrorBatch>();

/** The batch of the transaction behind `em`, when one is open. */
export function mirrorBatch(em: EntityManager): MirrorBatch | undefined {
  const tx = em.getTransactionContext();
  return tx ? open.get(tx as object) : undefined;
}

/**
 * Keeps a write for one statement per kind (`flushMirrorRows`, e.g. every invoice row of the batch in
 * one upsert) instead of a statement per event: only for what nothing in the batch reads without
 * flushing first (mirror rows: dunning, the convergence rule's stamp reads and customer checks, and the
 * signals' plan lookup flush; MRR points and subscription rows: the revenue history's reads flush). A value kept again under its key replaces the earlier one, so it must
 * be the whole write (every column merged). False outside a batch: the caller writes it itself.
 */
export function keep<T>(em: EntityManager, kind: string, key: string, value: T, write: (em: EntityManager, values: T[]) => Promise<void>): boolean {
  const batch = mirrorBatch(em);
  if (!batch) return false;
  let kept = batch.kept.get(kind);
  if (!kept) batch.kept.set(kind, (kept = { values: new Map(), write: write as KeptWrites['write'] }));
  // Re-inserted so that values keep the order of their last write.
  kept.values.delete(key);
  kept.values.set(key, value);
  return true;
}

/** Whether a write of `kind` is kept under `key`. */
export function isKept(em: EntityManager, kind: string, key: string): boolean {
  return mirrorBatch(em)?.kept.get(kind)?.values.has(key) === true;
}

/** Drops a kept write (its object was deleted in the batch). */
export function dropKept(em: EntityManager, kind: string, key: string): void {
  mirrorBatch(em)?.kept.get(kind)?.values.delete(key);
}

/** Makes the writes kept so far (`keep`), one statement per kind; a no-op outside a batch or with none. */
export async function flushMirrorRows(em: EntityManager): Promise<void> {
  const batch = mirrorBatch(em);
  if (!batch || batch.kept.size === 0) return;
  const kinds = [...batch.kept].sort(([a], [b]) => flushRank(a) - flushRank(b));
  batch.kept.clear();
  for (const [, { values, write }] of kinds) if (values.size > 0) await write(em, [...values.values()]);
}

/** Lets a deferred reader of the customer's revenue history read it before this write changes it (`beforeCustomerWrite`). */
export async function beforeCustomerWrite(em: EntityManager, customerId: string): Promise<void> {
  const batch = mirrorBatch(em);
  if (batch?.beforeCustomerWrite) await batch.beforeCustomerWrite(em, customerId);
}

/**
 * `upsertRows` of many rows (entity property names → values, the same keys in each), in slices: a
 * statement's parameters are capped at 65,535.
 */
export async function upsertManyRows(
  em: EntityManager,
  entity: EntityClass<object> & { name: string },
  table: string,
  rows: Record<string, unknown>[],
  opts?: Parameters<typeof upsertRows>[4],
): Promise<void> {
  if (rows.length === 0) return;
  const slice = Math.max(1, Math.floor(60_000 / Object.keys(rows[0]!).length));
  // `alongside` goes with the first statement only.
  for (let i = 0; i < rows.length; i += slice) await upsertRows(em, entity, table, rows.slice(i, i + slice), i === 0 ? opts : { ...opts, alongside: undefined });
}

/** Runs `fn` as a mirror batch (needs a transaction; without one, or nested, `fn` just runs). */
export async function withMirrorBatch<T>(em: EntityManager, fn: (batch: MirrorBatch | undefined) => Promise<T>): Promise<T> {
  const tx = em.getTransactionContext() as object | undefined;
  if (!tx || open.has(tx)) return fn(tx ? open.get(tx) : undefined);
  const batch = new MirrorBatch();
  open.set(tx, batch);
  try {
    return await fn(batch);
  } finally {
    open.delete(tx);
  }
}
