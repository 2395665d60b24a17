/**
 * `subscribe`: the caller's customer (created on first use) subscribes to a self-serve plan.
 *
 * Which flow, when:
 * - `paymentMethod` given: it is attached to the customer, the subscription is created with it
 *   (`payment_behavior: error_if_incomplete`: a declined first charge creates nothing → CARD_DECLINED
 *   with the decline code, and the card is detached again), then it becomes the customer's default
 *   card. A card that needs authentication (Stripe's 402 `subscription_payment_intent_requires_action`,
 *   nothing created) → created again with `allow_incomplete`: the subscription stays `incomplete` and the
 *   answer is PAYMENT_ACTION_REQUIRED with the first invoice's client secret; confirming it (Stripe.js,
 *   3-D Secure) pays the invoice and the webhook activates the subscription. Same key → same answer.
 * - no `paymentMethod`, but a trial (`trialDays`) or a default card on the customer: the subscription is
 *   created at once (trialing, or charged to the default card).
 * - otherwise the payment details are collected by Stripe: `paymentFlow: CHECKOUT` (default) returns a
 *   `checkoutUrl` (Checkout Session, mode subscription; the subscription appears when it is paid, via
 *   the webhook); `paymentFlow: CLIENT_SECRET` creates the subscription `incomplete`
 *   (`payment_behavior: default_incomplete`) and returns its first invoice's `clientSecret` for
 *   Stripe Elements; the card used becomes the subscription's default. Unpaid, it expires after 23 h.
 *
 * Rules: unknown / not self-serve plan, quantity < 1, quantity > 1 on a plan that is not per seat →
 * BAD_USER_INPUT naming the field; a live subscription to the same product → CONFLICT (change plan);
 * concurrent subscribes of one customer to one product: one runs, the others get CONFLICT (a lease), or,
 * with the same idempotency key, the same result.
 */
import type Stripe from 'stripe';
import { requireViewer, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import type { Customer } from '../../db/entities/customer.js';
import { paymentActionRequired } from '../../errors.js';
import { logger } from '../../log.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey, type IdempotencyRun } from '../idempotency/idempotency.js';
import { openCheckoutSession } from '../sessions/create-checkout-session.js';
import { checkRedirectUrl, defaultCheckoutUrl } from '../sessions/redirect-url.js';
import { callStripe, isPaymentActionRequired, mapStripeError } from '../stripe-errors.js';
import { retrieveStripeCustomer } from './customer-account.js';
import { keyed, requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { checkQuantity, newSubscriptionItems, requireSelfServePlan, type PlanPrices } from './plan-items.js';
import { REQUEST_TAG_METADATA_KEY, validatePaymentMethodId, validateTrialDays, withNewSubscriptionBasis } from './subscribe-rules.js';
import { WRITE_EXPAND, writeThrough } from './write-through.js';

export type PaymentFlow = 'checkout' | 'client_secret';

export interface SubscribeInput {
  plan: string;
  quantity?: number | null;
  paymentMethod?: string | null;
  trialDays?: number | null;
  promotionCode?: string | null;
  customerId?: string | null;
  idempotencyKey?: string | null;
  /** How to collect a card when none is given and none is on file (default checkout). */
  paymentFlow?: PaymentFlow | null;
  successUrl?: string | null;
  cancelUrl?: string | null;
}

/** JSON-serialisable (stored with the idempotency key); the resolver loads the subscription by id. */
export interface SubscribeOutcome {
  subscriptionId: string | null;
  clientSecret: string | null;
  checkoutUrl: string | null;
}

/** Stripe params → the input field to name in BAD_USER_INPUT. */
const FIELDS = {
  default_payment_method: 'paymentMethod',
  payment_method: 'paymentMethod',
  discounts: 'promotionCode',
  promotion_code: 'promotionCode',
  trial_period_days: 'trialDays',
  'items[0][quantity]': 'quantity',
};

export async function subscribe(deps: LifecycleDeps, auth: Authentication, input: SubscribeInput): Promise<SubscribeOutcome> {
  const viewer = requireViewer(auth);
  const plan = requireSelfServePlan(deps.catalog, input.plan);
  const quantity = checkQuantity(plan, input.quantity);
  validateTrialDays(input.trialDays);
  validatePaymentMethodId(input.paymentMethod);
  validateIdempotencyKey(input.idempotencyKey);
  const flow: PaymentFlow = input.paymentFlow ?? 'checkout';
  const allow = deps.config.portalReturnUrlAllowlist;
  const successUrl = input.successUrl ? checkRedirectUrl(input.successUrl, 'successUrl', allow) : defaultCheckoutUrl('success', allow, deps.config.publicUrl);
  const cancelUrl = input.cancelUrl ? checkRedirectUrl(input.cancelUrl, 'cancelUrl', allow) : defaultCheckoutUrl('cancel', allow, deps.config.publicUrl);
  const scope = resolveCustomerScope(auth, input.customerId);
  const normalised = { ...input, quantity, paymentFlow: flow, idempotencyKey: undefined };

  // A PAYMENT_ACTION_REQUIRED answer is stored with the key like a decline, so the same key replays the
  // same client secret instead of meeting its own incomplete subscription (CONFLICT).
  return new IdempotencyStore(deps.em).run<SubscribeOutcome>({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'subscribe', input: normalised }, async (run) => {
    return withNewSubscriptionBasis(deps, scope, plan, input.promotionCode, run, async (basis) => {
      const base = { ...basis, quantity, trialDays: input.trialDays ?? null, run };

      if (input.paymentMethod) return subscribeWithCard(deps, base, input.paymentMethod);
      const onFile = input.trialDays ? null : (await retrieveStripeCustomer(deps, basis.customer.id)).invoice_settings?.default_payment_method;
      if (input.trialDays || onFile) return createDirect(deps, base);
      if (flow === 'client_secret') return createIncomplete(deps, base);
      const session = await openCheckoutSession(deps, { ...base, successUrl, cancelUrl, idempotencyKey: run.stripeKey('checkout') });
      return { subscriptionId: null, clientSecret: null, checkoutUrl: session.url };
    });
  });
}

interface Base {
  customer: Customer;
  prices: PlanPrices;
  quantity: number;
  trialDays: number | null;
  promotionCodeId: string | null;
  run: IdempotencyRun;
}

function createParams(b: Base, extra: Partial<Stripe.SubscriptionCreateParams>): Stripe.SubscriptionCreateParams {
  return {
    customer: b.customer.id,
    items: newSubscriptionItems(b.prices, b.quantity),
    metadata: { plan_id: b.prices.plan.id, ...(b.run.requestTag ? { [REQUEST_TAG_METADATA_KEY]: b.run.requestTag } : {}) },
    ...(b.trialDays ? { trial_period_days: b.trialDays } : {}),
    ...(b.promotionCodeId ? { discounts: [{ promotion_code: b.promotionCodeId }] } : {}),
    expand: WRITE_EXPAND,
    ...extra,
  };
}

function confirmationSecret(sub: Stripe.Subscription): string | null {
  const inv = sub.latest_invoice;
  return inv && typeof inv === 'object' ? (inv.confirmation_secret?.client_secret ?? null) : null;
}

/**
 * What to mirror of a created subscription. A resumed run got the dead attempt's create replayed by
 * Stripe, i.e. the object as it was then: the mirror gets it as it is now.
 */
async function current(deps: LifecycleDeps, b: Base, sub: Stripe.Subscription): Promise<Stripe.Subscription> {
  if (!b.run.resumed) return sub;
  return callStripe(() => requireStripe(deps).subscriptions.retrieve(sub.id, { expand: WRITE_EXPAND }), { operation: 'subscriptions.retrieve' });
}

/**
 * Mirrors the subscription and answers from the create's result (replayed by Stripe on a resumed run,
 * so the answer is the first call's). An incomplete result of a charged create: the card needs
 * authentication (the subscription is kept for it).
 */
async function settle(deps: LifecycleDeps, b: Base, created: Stripe.Subscription, more: Stripe.Customer[] = []): Promise<SubscribeOutcome> {
  await writeThrough(deps, [...more, await current(deps, b, created)]);
  if (created.status === 'incomplete') {
    const secret = confirmationSecret(created) ?? (await invoiceSecret(deps, created));
    throw paymentActionRequired(secret ?? '', 'The first payment needs customer action (e.g. 3-D Secure): confirm it with the client secret');
  }
  return { subscriptionId: created.id, clientSecret: null, checkoutUrl: null };
}

async function invoiceSecret(deps: LifecycleDeps, sub: Stripe.Subscription): Promise<string | null> {
  const id = typeof sub.latest_invoice === 'string' ? sub.latest_invoice : sub.latest_invoice?.id;
  if (!id) return null;
  const inv = await callStripe(() => requireStripe(deps).invoices.retrieve(id, { expand: ['confirmation_secret'] }), { operation: 'invoices.retrieve' });
  return inv.confirmation_secret?.client_secret ?? null;
}

/**
 * Creates a subscription whose first invoice is charged at once (`error_if_incomplete`: a decline
 * creates nothing). A card that needs 3-D Secure gets Stripe's 402 `subscription_payment_intent_requires_action`,
 * also with nothing created: the create is then repeated with `allow_incomplete` (its own derived
 * idempotency key), so the subscription waits `incomplete` with the first invoice's PaymentIntent in
 * `requires_action` for the client to confirm (settle → PAYMENT_ACTION_REQUIRED with its client secret).
 */
async function createCharged(deps: LifecycleDeps, b: Base, extra: Partial<Stripe.SubscriptionCreateParams> = {}): Promise<Stripe.Subscription> {
  const stripe = requireStripe(deps);
  try {
    return await stripe.subscriptions.create(createParams(b, { ...extra, payment_behavior: 'error_if_incomplete' }), keyed(b.run.stripeKey('create')));
  } catch (err) {
    if (!isPaymentActionRequired(err)) throw err;
  }
  return stripe.subscriptions.create(
    createParams(b, { ...extra, payment_behavior: 'allow_incomplete', expand: [...WRITE_EXPAND, 'latest_invoice.confirmation_secret'] }),
    keyed(b.run.stripeKey('create_action')),
  );
}

async function subscribeWithCard(deps: LifecycleDeps, b: Base, paymentMethod: string): Promise<SubscribeOutcome> {
  const stripe = requireStripe(deps);
  const pm = await callStripe(() => stripe.paymentMethods.attach(paymentMethod, { customer: b.customer.id }, keyed(b.run.stripeKey('attach'))), {
    operation: 'paymentMethods.attach',
    fields: { payment_method: 'paymentMethod', id: 'paymentMethod' },
  });
  let sub: Stripe.Subscription;
  try {
    sub = await createCharged(deps, b, { default_payment_method: pm.id });
  } catch (err) {
    const mapped = mapStripeError(err, { operation: 'subscriptions.create', fields: FIELDS });
    if (mapped.code === 'CARD_DECLINED') {
      // A declined card does not stay on the customer.
      await stripe.paymentMethods.detach(pm.id, {}, keyed(b.run.stripeKey("detach"))).catch((e: unknown) => {
        logger.warn({ err: (e as Error).message, paymentMethod: pm.id }, 'could not detach a declined card');
      });
    }
    throw mapped;
  }
  // The card becomes the customer's default (best effort: the subscription charges its own default anyway).
  const customers: Stripe.Customer[] = [];
  try {
    customers.push(
      await stripe.customers.update(b.customer.id, { invoice_settings: { default_payment_method: pm.id } }, keyed(b.run.stripeKey('default'))),
    );
  } catch (e) {
    logger.warn({ err: (e as Error).message, customer: b.customer.id }, 'could not make the card the default');
  }
  return settle(deps, b, sub, customers);
}

async function createDirect(deps: LifecycleDeps, b: Base): Promise<SubscribeOutcome> {
  const sub = await callStripe(() => createCharged(deps, b), { operation: 'subscriptions.create', fields: FIELDS });
  return settle(deps, b, sub);
}

async function createIncomplete(deps: LifecycleDeps, b: Base): Promise<SubscribeOutcome> {
  const stripe = requireStripe(deps);
  const sub = await callStripe(
    () =>
      stripe.subscriptions.create(
        createParams(b, {
          payment_behavior: 'default_incomplete',
          payment_settings: { save_default_payment_method: 'on_subscription' },
          expand: [...WRITE_EXPAND, 'latest_invoice.confirmation_secret'],
        }),
        keyed(b.run.stripeKey('create')),
      ),
    { operation: 'subscriptions.create', fields: FIELDS },
  );
  await writeThrough(deps, [await current(deps, b, sub)]);
  return { subscriptionId: sub.id, clientSecret: confirmationSecret(sub) ?? (await invoiceSecret(deps, sub)), checkoutUrl: null };
}
