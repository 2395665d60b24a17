/**
 * `createPortalSession`: a Stripe billing portal session for the caller's own customer (admins: any
 * customer, by cus_… id or externalId). The return URL must pass `checkRedirectUrl` (absolute http(s),
 * on the allow-list when one is configured). A caller with no billing account yet → NOT_FOUND.
 */
import { requireViewer, resolveCustomerScope, type Authentication } from '../../auth/guard.js';
import { notFound } from '../../errors.js';
import { IdempotencyStore, idempotencyScope, validateIdempotencyKey } from '../idempotency/idempotency.js';
import { callStripe } from '../stripe-errors.js';
import { findScopedCustomer } from '../subscriptions/customer-account.js';
import { keyed, requireStripe, type LifecycleDeps } from '../subscriptions/lifecycle-deps.js';
import { checkRedirectUrl } from './redirect-url.js';

export interface CreatePortalSessionInput {
  returnUrl: string;
  customerId?: string | null;
  idempotencyKey?: string | null;
}

export interface PortalSessionOutcome {
  url: string;
}

export async function createPortalSession(deps: LifecycleDeps, auth: Authentication, input: CreatePortalSessionInput): Promise<PortalSessionOutcome> {
  const viewer = requireViewer(auth);
  const returnUrl = checkRedirectUrl(input.returnUrl, 'returnUrl', deps.config.portalReturnUrlAllowlist);
  validateIdempotencyKey(input.idempotencyKey);
  const scope = resolveCustomerScope(auth, input.customerId);
  const customer = await findScopedCustomer(deps, scope);
  if (!customer) throw notFound('Billing account (subscribe first)');
  const normalised = { returnUrl, customerId: customer.id };
  return new IdempotencyStore(deps.em).run({ scope: idempotencyScope(viewer), key: input.idempotencyKey, operation: 'createPortalSession', input: normalised }, async (run) => {
    const stripe = requireStripe(deps);
    const session = await callStripe(
      () => stripe.billingPortal.sessions.create({ customer: customer.id, return_url: returnUrl }, keyed(run.stripeKey('portal'))),
      { operation: 'billingPortal.sessions.create', fields: { return_url: 'returnUrl' } },
    );
    return { url: session.url };
  });
}
