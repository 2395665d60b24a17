/**
 * `changePlan`: moves a subscription to another self-serve plan and/or seat count, billed as
 * `plan-change.ts` describes (upgrades invoiced now, downgrades credited at renewal, `prorate: false`
 * without proration). The same plan and quantity again is a no-op that returns the subscription.
 */
import type Stripe from 'stripe';
import { requireViewer, type Authentication } from '../../auth/guard.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey } from '../idempotency/idempotency.js';
import { callStripe } from '../stripe-errors.js';
import { keyed, requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { loadOwnedSubscription } from './owned-subscription.js';
import { assertNoOtherLiveSubscription, planChange } from './plan-change.js';
import { WRITE_EXPAND, writeThrough } from './write-through.js';

export interface ChangePlanInput {
  subscriptionId: string;
  plan: string;
  quantity?: number | null;
  prorate?: boolean | null;
  idempotencyKey?: string | null;
  prorationDate?: Date | null;
}

/** The subscription id (the resolver reads the mirrored row). */
export interface SubscriptionOutcome {
  subscriptionId: string;
}

export async function changePlan(deps: LifecycleDeps, auth: Authentication, input: ChangePlanInput): Promise<SubscriptionOutcome> {
  const viewer = requireViewer(auth);
  validateIdempotencyKey(input.idempotencyKey);
  const owned = await loadOwnedSubscription(deps, auth, input.subscriptionId);
  const normalised = { ...input, prorate: input.prorate ?? true, idempotencyKey: undefined };
  return new IdempotencyStore(deps.em).run({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'changePlan', input: normalised }, async (run) => {
    const stripe = requireStripe(deps);
    const sub = owned.subscription;
    const change = await planChange(deps, sub, input);
    if (change.noop) {
      await writeThrough(deps, [await callStripe(() => stripe.subscriptions.retrieve(sub.id, { expand: WRITE_EXPAND }), { operation: 'subscriptions.retrieve' })]);
      return { subscriptionId: sub.id };
    }
    await assertNoOtherLiveSubscription(deps, sub, change.planId);
    const params: Stripe.SubscriptionUpdateParams = {
      items: change.items,
      proration_behavior: change.behavior,
      ...(change.prorationDate !== undefined && change.behavior !== 'none' ? { proration_date: change.prorationDate } : {}),
      metadata: { plan_id: change.planId },
      expand: WRITE_EXPAND,
      ...(change.behavior === 'always_invoice' ? { payment_behavior: 'error_if_incomplete' as const } : {}),
    };
    const updated = await callStripe(() => stripe.subscriptions.update(sub.id, params, keyed(run.stripeKey('update'))), {
      operation: 'subscriptions.update',
      fields: { items: 'plan', proration_behavior: 'prorate', proration_date: 'prorationDate' },
    });
    await writeThrough(deps, [updated]);
    return { subscriptionId: updated.id };
  });
}
