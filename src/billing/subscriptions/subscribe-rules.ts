/** Checks and the common start shared by `subscribe` and `createCheckoutSession` (`changePlan` reuses the live-subscription lookup). */
import type Stripe from 'stripe';
import type { CustomerScope } from '../../auth/guard.js';
import type { Customer } from '../../db/entities/customer.js';
import type { CatalogPlan } from '../../catalog.js';
import { badUserInput, conflict } from '../../errors.js';
import { withLease } from '../idempotency/lease.js';
import { callStripe } from '../stripe-errors.js';
import { getOrCreateCustomer } from './customer-account.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';
import { isEnded } from './owned-subscription.js';
import { resolvePlanPrices, type PlanPrices } from './plan-items.js';

export const MAX_TRIAL_DAYS = 730;

export function validateTrialDays(trialDays: number | null | undefined, field = 'trialDays'): void {
  if (trialDays === null || trialDays === undefined) return;
  if (!Number.isInteger(trialDays) || trialDays < 1 || trialDays > MAX_TRIAL_DAYS) throw badUserInput(field, `trialDays must be 1-${MAX_TRIAL_DAYS}`);
}

export function validatePaymentMethodId(pm: string | null | undefined, field = 'paymentMethod'): void {
  if (pm === null || pm === undefined) return;
  if (!/^pm_[A-Za-z0-9_]+$/.test(pm)) throw badUserInput(field, 'Expected a PaymentMethod id (pm_…)');
}

/** The lease that serialises subscription creation per customer and product. */
export function productLeaseName(customerId: string, productId: string): string {
  return `subscribe:${customerId}:${productId}`;
}

/** The subscription metadata key naming the idempotent request that created it (its `requestTag`). */
export const REQUEST_TAG_METADATA_KEY = 'gateway_request';

/** Who is asking: an idempotent request's tag, and whether it resumes an attempt that died. */
export interface RequestIdentity {
  requestTag: string | undefined;
  resumed: boolean;
}

/**
 * A customer has at most one live subscription per product: asking Stripe (the mirror may not have a
 * subscription that Checkout just created). Live = anything not ended, `incomplete` included (awaiting
 * its first payment: confirm it, or cancel it first). A resumed request does not clash with the
 * subscription its own dead attempt created: it replays that create and gets it back.
 */
export async function assertNoLiveSubscription(deps: LifecycleDeps, customerId: string, plan: CatalogPlan, own?: RequestIdentity): Promise<void> {
  const ownTag = own?.resumed ? own.requestTag : undefined;
  const clash = await findLiveSubscription(deps, customerId, plan.product, undefined, ownTag);
  if (clash) {
    throw conflict(`This customer already has a live subscription to this product (${clash.id}); change its plan instead`);
  }
}

/** The customer's live subscription (not `exceptId`, not tagged `exceptTag`, not ended) with an item of `productId`, as Stripe has it. */
export async function findLiveSubscription(
  deps: LifecycleDeps,
  customerId: string,
  productId: string,
  exceptId?: string,
  exceptTag?: string,
): Promise<Stripe.Subscription | undefined> {
  const stripe = requireStripe(deps);
  const live = await callStripe(() => stripe.subscriptions.list({ customer: customerId, limit: 100 }), { operation: 'subscriptions.list' });
  const productOf = (item: Stripe.SubscriptionItem) => (typeof item.price.product === 'string' ? item.price.product : item.price.product.id);
  const mine = (s: Stripe.Subscription) => exceptTag !== undefined && s.metadata?.[REQUEST_TAG_METADATA_KEY] === exceptTag;
  return live.data.find((s) => s.id !== exceptId && !mine(s) && !isEnded(s) && s.items.data.some((it) => productOf(it) === productId));
}

/** An active promotion code's id by its code (case-insensitive, as Stripe matches it), else BAD_USER_INPUT. */
export async function findPromotionCode(deps: LifecycleDeps, code: string, field = 'promotionCode'): Promise<string> {
  if (!/^[A-Za-z0-9_-]{1,500}$/.test(code)) throw badUserInput(field, 'Unknown promotion code');
  const stripe = requireStripe(deps);
  const found = await callStripe(() => stripe.promotionCodes.list({ code, active: true, limit: 1 }), { operation: 'promotionCodes.list' });
  const promo = found.data[0];
  if (!promo) throw badUserInput(field, 'Unknown or inactive promotion code');
  return promo.id;
}

/** What a new subscription (direct or through Checkout) is built from. */
export interface NewSubscriptionBasis {
  customer: Customer;
  prices: PlanPrices;
  promotionCodeId: string | null;
}

/**
 * The common start of `subscribe` and `createCheckoutSession`: the caller's customer (created on first
 * use), then, holding that customer's lease on the plan's product, the one-live-subscription check, the
 * plan's prices and the promotion code; `create` runs inside the lease. An idempotent request holds the
 * lease under its tag, so its resumed run takes back what its dead attempt held.
 */
export async function withNewSubscriptionBasis<T>(
  deps: LifecycleDeps,
  scope: CustomerScope,
  plan: CatalogPlan,
  promotionCode: string | null | undefined,
  own: RequestIdentity,
  create: (basis: NewSubscriptionBasis) => Promise<T>,
): Promise<T> {
  const customer = await getOrCreateCustomer(deps, scope);
  const busy = 'Another subscription request for this customer is in progress';
  return withLease(deps.em, productLeaseName(customer.id, plan.product), busy, async () => {
    await assertNoLiveSubscription(deps, customer.id, plan, own);
    const prices = await resolvePlanPrices(deps.em, requireStripe(deps), plan);
    const promotionCodeId = promotionCode ? await findPromotionCode(deps, promotionCode) : null;
    return create({ customer, prices, promotionCodeId });
  }, { holder: own.requestTag });
}
