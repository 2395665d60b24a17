/**
 * The Stripe customer a call acts on. A customer token acts on its own customer (externalId = sub),
 * created on first use: one per externalId even under concurrent first calls, because the Stripe create
 * carries an idempotency key derived from the externalId (concurrent and retried creates return the same
 * customer) and the mirror's `external_id` column is unique. In sandbox the customer goes on the test clock.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { assertCustomerInScope, type CustomerScope } from '../../auth/guard.js';
import { Customer } from '../../db/entities/customer.js';
import { forbidden, notFound } from '../../errors.js';
import { isResourceMissing } from '../../stripe/client.js';
import { EXTERNAL_ID_METADATA_KEY, upsertCustomer } from '../../stripe/mirror/index.js';
import { callStripe, mapStripeError } from '../stripe-errors.js';
import { requireStripe, type LifecycleDeps } from './lifecycle-deps.js';

export function customerCreateKey(externalId: string): string {
  return `bg_customer_${createHash('sha256').update(externalId).digest('hex').slice(0, 40)}`;
}

/** The mirrored customer the scope names, or null (FORBIDDEN when a customer token names another's). */
export async function findScopedCustomer(deps: LifecycleDeps, scope: CustomerScope): Promise<Customer | null> {
  const where = scope.ref.kind === 'stripeId' ? { id: scope.ref.id, deleted: false } : { externalId: scope.ref.externalId, deleted: false };
  const row = await deps.em.findOne(Customer, where, { refresh: true });
  return assertCustomerInScope(scope, row);
}

/** The scope's customer, mirrored; created at Stripe (and mirrored) when an externalId has none yet. */
export async function getOrCreateCustomer(deps: LifecycleDeps, scope: CustomerScope): Promise<Customer> {
  const existing = await findScopedCustomer(deps, scope);
  if (existing) return existing;
  const stripe = requireStripe(deps);
  if (scope.ref.kind === 'stripeId') {
    // Admins only get here (a customer token naming an unknown cus_ id is FORBIDDEN above).
    const id = scope.ref.id;
    let found: Stripe.Customer | Stripe.DeletedCustomer;
    try {
      found = await stripe.customers.retrieve(id);
    } catch (err) {
      if (isResourceMissing(err)) throw notFound('Customer');
      throw mapStripeError(err, { operation: 'customers.retrieve' });
    }
    if (found.deleted) throw notFound('Customer');
    return upsertCustomer(deps.em, found);
  }
  const externalId = scope.ref.externalId;
  const own = scope.viewer.sub === externalId;
  const params: Stripe.CustomerCreateParams = {
    metadata: { [EXTERNAL_ID_METADATA_KEY]: externalId },
    ...(own && scope.viewer.email ? { email: scope.viewer.email } : {}),
    ...(deps.testClockId ? { test_clock: deps.testClockId } : {}),
  };
  let created: Stripe.Customer;
  try {
    created = await stripe.customers.create(params, { idempotencyKey: customerCreateKey(externalId) });
  } catch (err) {
    const mapped = mapStripeError(err, { operation: 'customers.create' });
    if (mapped.code === 'CONFLICT') {
      // Created meanwhile by a concurrent call with other parameters (e.g. another email): use it.
      const again = await findScopedCustomer(deps, scope);
      if (again) return again;
    }
    throw mapped;
  }
  const row = await upsertCustomer(deps.em, created);
  if (row.externalId !== externalId) {
    // Another Stripe customer already holds this externalId in the mirror: use that one.
    const holder = await findScopedCustomer(deps, scope);
    if (holder) return holder;
    throw forbidden('This billing account cannot be used');
  }
  return row;
}

/** The customer as Stripe has it now (e.g. its default payment method). */
export function retrieveStripeCustomer(deps: LifecycleDeps, id: string): Promise<Stripe.Customer> {
  return callStripe(async () => {
    const c = await requireStripe(deps).customers.retrieve(id);
    if (c.deleted) throw notFound('Customer');
    return c;
  }, { operation: 'customers.retrieve' });
}
