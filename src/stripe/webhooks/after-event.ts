/**
 * The seam between the event processors (the webhook worker, the events sync) and what runs after each
 * event (billing signals, dunning): the hook's type, in a module of its own so that its implementers
 * see it without importing the worker, and `chainAfterEvents`, several hooks as one.
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import type { HandleResult } from '../sync/handlers.js';

/**
 * Runs inside the event's transaction after the mirror write (e.g. billing signals); a throw fails the
 * attempt. `result` (when the caller has it): what the event did to the mirror, so a hook may skip work
 * for a copy the mirror skipped (its row did not change). `batch` (optional): when the worker processes
 * several events in one transaction it calls `begin(tx, events)` before the first `afterEvent` and `end(tx)`
 * after the last, before the commit, so the hook can read or write what the events share in one statement.
 */
export type AfterEventHook = ((em: EntityManager, event: Stripe.Event, result?: HandleResult) => Promise<void>) & {
  batch?: { begin(em: EntityManager, events?: readonly Stripe.Event[]): void; end(em: EntityManager): Promise<void> };
};

/**
 * Several `afterEvent` hooks as one (signals, then dunning): each runs in order for every event, in the
 * same transaction; batch begin/end are passed to the hooks that have them.
 */
export function chainAfterEvents(...hooks: (AfterEventHook | undefined)[]): AfterEventHook {
  const list = hooks.filter((h): h is AfterEventHook => h !== undefined);
  const chained: AfterEventHook = async (em, event, result) => {
    for (const hook of list) await hook(em, event, result);
  };
  const batched = list.filter((h) => h.batch);
  if (batched.length > 0) {
    chained.batch = {
      begin(em, events) {
        for (const h of batched) h.batch!.begin(em, events);
      },
      async end(em) {
        for (const h of batched) await h.batch!.end(em);
      },
    };
  }
  return chained;
}
