/**
 * `resume`: undoes a pending cancellation (`cancel(atPeriodEnd: true)`, or a `cancel_at` set elsewhere)
 * before it takes effect; billing continues as before, nothing is invoiced. A subscription without a
 * pending cancellation is returned as it is; an ended one cannot be resumed (BAD_USER_INPUT: subscribe again).
 */
import type Stripe from 'stripe';
import { requireViewer, type Authentication } from '../../auth/guard.js';
import { badUserInput } from '../../errors.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey } from '../idempotency/idempotency.js';
import { callStripe } from '../stripe-errors.js';
import type { SubscriptionOutcome } from './change-plan.js';
import { keyed, requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { isEnded, loadOwnedSubscription } from './owned-subscription.js';
import { WRITE_EXPAND, writeThrough } from './write-through.js';

export interface ResumeInput {
  subscriptionId: string;
  idempotencyKey?: string | null;
}

export async function resume(deps: LifecycleDeps, auth: Authentication, input: ResumeInput): Promise<SubscriptionOutcome> {
  const viewer = requireViewer(auth);
  validateIdempotencyKey(input.idempotencyKey);
  const { subscription: sub } = await loadOwnedSubscription(deps, auth, input.subscriptionId);
  if (isEnded(sub)) throw badUserInput('subscriptionId', 'This subscription has ended and cannot be resumed; subscribe again');
  return new IdempotencyStore(deps.em).run({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'resume', input: { subscriptionId: sub.id } }, async (run) => {
    const stripe = requireStripe(deps);
    // The pending cancellation to clear ('' unsets `cancel_at`), if any.
    const undo: Stripe.SubscriptionUpdateParams | null = sub.cancel_at_period_end ? { cancel_at_period_end: false } : sub.cancel_at ? { cancel_at: '' } : null;
    const result = undo
      ? await callStripe(() => stripe.subscriptions.update(sub.id, { ...undo, expand: WRITE_EXPAND }, keyed(run.stripeKey('resume'))), { operation: 'subscriptions.update' })
      : await callStripe(() => stripe.subscriptions.retrieve(sub.id, { expand: WRITE_EXPAND }), { operation: 'subscriptions.retrieve' });
    await writeThrough(deps, [result]);
    return { subscriptionId: result.id };
  });
}
