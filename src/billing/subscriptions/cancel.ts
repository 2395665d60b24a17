/**
 * `cancel`:
 * - `atPeriodEnd: true` (default): `cancel_at_period_end` — access and billing continue until the current
 *   period ends, nothing is credited, nothing more is invoiced; `resume` undoes it until then.
 * - `atPeriodEnd: false`: the subscription ends now. An active (or past-due) subscription is cancelled
 *   with `prorate: true, invoice_now: true`: a final invoice bills the metered usage so far and credits
 *   the unused part of the period; a negative total goes to the customer's credit balance (applied to
 *   future invoices, not refunded to the card). A trialing, incomplete, unpaid or paused subscription
 *   ends without a final invoice (nothing was paid for the time left).
 * An ended subscription is returned as it is.
 */
import type Stripe from 'stripe';
import { requireViewer, type Authentication } from '../../auth/guard.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey } from '../idempotency/idempotency.js';
import { callStripe } from '../stripe-errors.js';
import type { SubscriptionOutcome } from './change-plan.js';
import { keyed, requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { isEnded, loadOwnedSubscription } from './owned-subscription.js';
import { WRITE_EXPAND, writeThrough } from './write-through.js';

export interface CancelInput {
  subscriptionId: string;
  atPeriodEnd?: boolean | null;
  idempotencyKey?: string | null;
}

const SETTLED_ON_CANCEL = new Set<Stripe.Subscription.Status>(['active', 'past_due']);

export async function cancel(deps: LifecycleDeps, auth: Authentication, input: CancelInput): Promise<SubscriptionOutcome> {
  const viewer = requireViewer(auth);
  validateIdempotencyKey(input.idempotencyKey);
  const { subscription: sub } = await loadOwnedSubscription(deps, auth, input.subscriptionId);
  const atPeriodEnd = input.atPeriodEnd ?? true;
  const normalised = { subscriptionId: input.subscriptionId, atPeriodEnd };
  return new IdempotencyStore(deps.em).run({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'cancel', input: normalised }, async (run) => {
    const stripe = requireStripe(deps);
    let result: Stripe.Subscription;
    if (isEnded(sub) || (atPeriodEnd && sub.cancel_at_period_end)) {
      result = await callStripe(() => stripe.subscriptions.retrieve(sub.id, { expand: WRITE_EXPAND }), { operation: 'subscriptions.retrieve' });
    } else if (atPeriodEnd) {
      result = await callStripe(() => stripe.subscriptions.update(sub.id, { cancel_at_period_end: true, expand: WRITE_EXPAND }, keyed(run.stripeKey('cancel'))), {
        operation: 'subscriptions.update',
      });
    } else {
      const settle = SETTLED_ON_CANCEL.has(sub.status);
      result = await callStripe(
        () => stripe.subscriptions.cancel(sub.id, { prorate: settle, invoice_now: settle, expand: WRITE_EXPAND }, keyed(run.stripeKey('cancel'))),
        { operation: 'subscriptions.cancel' },
      );
    }
    await writeThrough(deps, [result]);
    return { subscriptionId: result.id };
  });
}
