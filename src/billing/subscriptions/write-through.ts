/**
 * Write-through: the Stripe objects a mutation got back are stored in the mirror within the request, in
 * one transaction (all or nothing), so an immediate query agrees with the mutation before any webhook.
 * The webhook that follows writes the same data again (idempotent upserts).
 */
import { DeadlockException, UniqueConstraintViolationException } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { Subscription } from '../../db/entities/subscription.js';
import { idOf, mirrorObject, SUBSCRIPTION_MIRROR_EXPAND, type MirrorableObject } from '../../stripe/mirror/index.js';
import { lockObjects } from '../../stripe/sync/convergence.js';
import { callStripe } from '../stripe-errors.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';

/** What subscription writes ask Stripe to expand: the latest invoice (mirrored with it) and the discounts' coupons (for MRR). */
export const WRITE_EXPAND = ['latest_invoice', ...SUBSCRIPTION_MIRROR_EXPAND];

/** The objects a write-through may write (each object, its customer, a subscription's latest invoice). */
function objectIds(objects: MirrorableObject[]): string[] {
  const ids: string[] = [];
  for (const obj of objects) {
    if (obj.id) ids.push(obj.id);
    for (const field of ['customer', 'latest_invoice'] as const) {
      const id = idOf((obj as unknown as Record<string, unknown>)[field]);
      if (id !== null) ids.push(id);
    }
  }
  return ids;
}

export async function writeThrough(deps: LifecycleDeps, objects: MirrorableObject[]): Promise<void> {
  const stripe = requireStripe(deps);
  // The webhook worker may write the same rows at the same moment. Both lock the objects first, in
  // one sorted statement (the worker's batches do the same), so one waits for the other instead of
  // the two deadlocking on the rows, which PostgreSQL detects only after a second. A first write of a
  // customer can still meet another on its unique external id: Stripe already holds the change, so
  // the write is simply tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.em.transactional(async (tx) => {
        await lockObjects(tx, objectIds(objects));
        for (const obj of objects) await mirrorObject(tx, obj, { catalog: deps.catalog, stripe });
      });
      return;
    } catch (err) {
      const transient = err instanceof DeadlockException || err instanceof UniqueConstraintViolationException;
      if (!transient || attempt >= 3) throw err;
    }
  }
}

/** The mirrored subscription row, fresh from the database; fetched from Stripe and mirrored when missing. */
export async function mirroredSubscription(deps: LifecycleDeps, id: string): Promise<Subscription> {
  const row = await deps.em.findOne(Subscription, { id }, { refresh: true });
  if (row) return row;
  const stripe = requireStripe(deps);
  const sub = await callStripe(() => stripe.subscriptions.retrieve(id, { expand: WRITE_EXPAND }), { operation: 'subscriptions.retrieve' });
  await writeThrough(deps, [sub as Stripe.Subscription]);
  return deps.em.findOneOrFail(Subscription, { id }, { refresh: true });
}
