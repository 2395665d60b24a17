/**
 * A subscription the caller may act on, as Stripe has it now (the mirror may lag behind a webhook).
 * Admins act on any; a customer token only on its own customer's: anything else, including an id that
 * does not exist, is FORBIDDEN for a customer token (ids cannot be probed) and NOT_FOUND for an admin.
 */
import type Stripe from 'stripe';
import { requireViewer, type Authentication } from '../../auth/guard.js';
import { Customer } from '../../db/entities/customer.js';
import { badUserInput, forbidden, notFound } from '../../errors.js';
import { isResourceMissing } from '../../stripe/client.js';
import { idOf } from '../../stripe/mirror/index.js';
import { mapStripeError } from '../stripe-errors.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';

const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9_]+$/;

export interface OwnedSubscription {
  subscription: Stripe.Subscription;
  customerId: string;
}

export async function loadOwnedSubscription(
  deps: LifecycleDeps,
  auth: Authentication,
  subscriptionId: string,
  field = 'subscriptionId',
): Promise<OwnedSubscription> {
  const viewer = requireViewer(auth);
  if (!SUBSCRIPTION_ID.test(subscriptionId)) throw badUserInput(field, 'Expected a Stripe subscription id (sub_…)');
  const isAdmin = viewer.role === 'admin';
  let ownCustomerId: string | null = null;
  if (!isAdmin) {
    const own = await deps.em.findOne(Customer, { externalId: viewer.sub, deleted: false });
    if (!own) throw forbidden("Not allowed to act on another customer's subscription");
    ownCustomerId = own.id;
  }
  let subscription: Stripe.Subscription;
  try {
    subscription = await requireStripe(deps).subscriptions.retrieve(subscriptionId);
  } catch (err) {
    if (isResourceMissing(err)) throw isAdmin ? notFound('Subscription') : forbidden("Not allowed to act on another customer's subscription");
    throw mapStripeError(err, { operation: 'subscriptions.retrieve' });
  }
  const customerId = idOf(subscription.customer)!;
  if (!isAdmin && customerId !== ownCustomerId) throw forbidden("Not allowed to act on another customer's subscription");
  return { subscription, customerId };
}

/** Ended subscriptions cannot change any more. */
export function isEnded(sub: Pick<Stripe.Subscription, 'status'>): boolean {
  return sub.status === 'canceled' || sub.status === 'incomplete_expired';
}
