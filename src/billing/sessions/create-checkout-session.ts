/**
 * `createCheckoutSession`: a Stripe Checkout Session (mode subscription) for a self-serve plan, on the
 * caller's customer (created on first use), so the card is collected on Stripe's page and the subscription
 * starts when it is paid (the webhook mirrors it). The same rules as `subscribe` apply: plan and quantity
 * checks, no second live subscription to the product (CONFLICT), redirect URLs checked (no open redirect).
 */
import type Stripe from 'stripe';
import { requireViewer, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import type { Customer } from '../../db/entities/customer.js';
import { badUserInput } from '../../errors.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey } from '../idempotency/idempotency.js';
import { callStripe } from '../stripe-errors.js';
import { keyed, requireStripe, type LifecycleDeps } from '../subscriptions/lifecycle-deps.js';
import { validateTrialDays, withNewSubscriptionBasis } from '../subscriptions/subscribe-rules.js';
import { checkQuantity, newSubscriptionItems, requireSelfServePlan, type PlanPrices } from '../subscriptions/plan-items.js';
import { checkRedirectUrl } from './redirect-url.js';

export interface CreateCheckoutSessionInput {
  plan: string;
  quantity?: number | null;
  successUrl: string;
  cancelUrl: string;
  trialDays?: number | null;
  promotionCode?: string | null;
  customerId?: string | null;
  idempotencyKey?: string | null;
}

export interface CheckoutSessionOutcome {
  id: string;
  url: string;
}

export interface CheckoutOptions {
  customer: Customer;
  prices: PlanPrices;
  quantity: number;
  successUrl: string;
  cancelUrl: string;
  trialDays?: number | null;
  promotionCodeId?: string | null;
  idempotencyKey?: string;
}

/** Opens the Checkout Session (shared with `subscribe` without a card). */
export async function openCheckoutSession(deps: LifecycleDeps, o: CheckoutOptions): Promise<CheckoutSessionOutcome> {
  const stripe = requireStripe(deps);
  const params: Stripe.Checkout.SessionCreateParams = {
    mode: 'subscription',
    customer: o.customer.id,
    line_items: newSubscriptionItems(o.prices, o.quantity),
    success_url: o.successUrl,
    cancel_url: o.cancelUrl,
    ...(o.customer.externalId ? { client_reference_id: o.customer.externalId } : {}),
    metadata: { plan_id: o.prices.plan.id },
    subscription_data: { metadata: { plan_id: o.prices.plan.id }, ...(o.trialDays ? { trial_period_days: o.trialDays } : {}) },
    ...(o.promotionCodeId ? { discounts: [{ promotion_code: o.promotionCodeId }] } : {}),
  };
  const session = await callStripe(() => stripe.checkout.sessions.create(params, keyed(o.idempotencyKey)), {
    operation: 'checkout.sessions.create',
    fields: { success_url: 'successUrl', cancel_url: 'cancelUrl', discounts: 'promotionCode', 'subscription_data[trial_period_days]': 'trialDays' },
  });
  if (!session.url) throw badUserInput('plan', 'Stripe returned no Checkout URL');
  return { id: session.id, url: session.url };
}

export async function createCheckoutSession(deps: LifecycleDeps, auth: Authentication, input: CreateCheckoutSessionInput): Promise<CheckoutSessionOutcome> {
  const viewer = requireViewer(auth);
  const plan = requireSelfServePlan(deps.catalog, input.plan);
  const quantity = checkQuantity(plan, input.quantity);
  const successUrl = checkRedirectUrl(input.successUrl, 'successUrl', deps.config.portalReturnUrlAllowlist);
  const cancelUrl = checkRedirectUrl(input.cancelUrl, 'cancelUrl', deps.config.portalReturnUrlAllowlist);
  validateTrialDays(input.trialDays);
  validateIdempotencyKey(input.idempotencyKey);
  const scope = resolveCustomerScope(auth, input.customerId);
  const normalised = { ...input, quantity, idempotencyKey: undefined };
  return new IdempotencyStore(deps.em).run({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'createCheckoutSession', input: normalised }, async (run) => {
    return withNewSubscriptionBasis(deps, scope, plan, input.promotionCode, run, (basis) =>
      openCheckoutSession(deps, { ...basis, quantity, successUrl, cancelUrl, trialDays: input.trialDays, idempotencyKey: run.stripeKey('checkout') }),
    );
  });
}
