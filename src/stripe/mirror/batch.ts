/**
 * A batch of mirror writes in one transaction (the webhook worker's): inside `withMirrorBatch(em, fn)`
 * the writers store parent rows with bound statements of their own instead of MikroORM's upsert (no
 * entity copy, no identity map: nothing in the batch reads the rows back as entities, and the
 * transaction's EntityManager is dropped at its end), and the subscription writer records what each
 * write changed in the MRR totals (`mrrDeltas`), so billing signals can step MRR from memory instead
 * of reading the totals after every subscription event.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Fraction } from '../../mrr/index.js';

/** What one subscription write added to a currency's counting MRR ('active' totals): signed. */
export interface MrrDelta {
  /** Lower-case, as the totals key it. */
  currency: string;
  exact: Fraction;
  /** +1, −1 or 0: counting subscriptions added. */
  subscriptions: number;
}

export class MirrorBatch {
  /** In write order. */
  readonly mrrDeltas: MrrDelta[] = [];
}

const open = new WeakMap<object, MirrorBatch>();

/** The batch of the transaction behind `em`, when one is open. */
export function mirrorBatch(em: EntityManager): MirrorBatch | undefined {
  const tx = em.getTransactionContext();
  return tx ? open.get(tx as object) : undefined;
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
