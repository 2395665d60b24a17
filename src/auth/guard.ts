/**
 * The one place that decides who may act on which customer. Resolvers declare the roles a field lets
 * in (`@Authorized`, checked with `authorize`); services check whose data it is (`resolveCustomerScope`).
 *
 * - no valid token → UNAUTHENTICATED (with the verifier's reason when a token was sent);
 * - a customer token acts on its own customer only (externalId === sub);
 * - an admin token may name any customer, by Stripe id (cus_…) or externalId;
 * - a service token may only verify API keys (`requireVerifier`): everything else is FORBIDDEN.
 */
import { forbidden, unauthenticated, type AppError } from '../errors.js';
import type { Role, Viewer } from './tokens.js';

/** What the request carried: a verified viewer, or the reason a sent token was rejected. */
export interface Authentication {
  viewer: Viewer | null;
  /** Set when a token was sent but rejected (expired, forged, …). */
  error?: AppError;
}

/** Who a declaration lets in: a token's role, or `anonymous` (no valid token) for public reads. */
export type Access = Role | 'anonymous';

/** A customer or admin token: what every read and write of billing data needs. */
const VIEWER_ROLES: readonly Access[] = ['customer', 'admin'];

/**
 * The caller when its role is one of `allowed`; else UNAUTHENTICATED (no valid token, with the
 * verifier's reason) or FORBIDDEN with the message naming what was missing. Null only for a public
 * (`anonymous`) call without a token.
 */
export function authorize(auth: Authentication, allowed: readonly Access[]): Viewer | null {
  const viewer = auth.viewer;
  if (!viewer) {
    if (allowed.includes('anonymous')) return null;
    throw auth.error ?? unauthenticated();
  }
  if (allowed.includes(viewer.role)) return viewer;
  if (viewer.role === 'service') throw forbidden('A service token may only verify API keys');
  if (allowed.includes('service')) throw forbidden('Verifying API keys needs a service or admin token');
  throw forbidden('Admin token required');
}

export function requireViewer(auth: Authentication): Viewer {
  return authorize(auth, VIEWER_ROLES)!;
}

/** API key verification: service and admin tokens only. */
export function requireVerifier(auth: Authentication): Viewer {
  return authorize(auth, ['service', 'admin'])!;
}

export type CustomerRef = { kind: 'stripeId'; id: string } | { kind: 'externalId'; externalId: string };

/** `cus_…` names a Stripe customer; anything else is an externalId. */
export function parseCustomerRef(id: string): CustomerRef {
  return /^cus_[A-Za-z0-9]+$/.test(id) ? { kind: 'stripeId', id } : { kind: 'externalId', externalId: id };
}

export interface CustomerScope {
  viewer: Viewer;
  /** The customer the call names (own customer when none was named). */
  ref: CustomerRef;
  /** True when the customer must turn out to be the viewer's own (checked by `assertCustomerInScope` after loading). */
  ownOnly: boolean;
}

/**
 * The customer a call may act on. `requestedId` absent: the caller's own customer. A customer
 * token naming its own externalId is fine; naming anything else by externalId is FORBIDDEN at once;
 * naming a `cus_…` id is allowed only if the loaded row belongs to it (see `assertCustomerInScope`).
 */
export function resolveCustomerScope(auth: Authentication, requestedId?: string | null): CustomerScope {
  const viewer = requireViewer(auth);
  if (requestedId === undefined || requestedId === null) return { viewer, ref: { kind: 'externalId', externalId: viewer.sub }, ownOnly: false };
  const ref = parseCustomerRef(requestedId);
  if (viewer.role === 'admin') return { viewer, ref, ownOnly: false };
  if (ref.kind === 'externalId') {
    if (ref.externalId !== viewer.sub) throw forbidden("Not allowed to access another customer's data");
    return { viewer, ref, ownOnly: false };
  }
  return { viewer, ref, ownOnly: true };
}

/**
 * Check a loaded customer against the scope. Returns the customer, null when it does not exist
 * (a customer token naming an unknown `cus_…` gets FORBIDDEN, so ids cannot be probed).
 */
export function assertCustomerInScope<C extends { externalId?: string | null }>(scope: CustomerScope, customer: C | null | undefined): C | null {
  if (!scope.ownOnly) return customer ?? null;
  if (!customer || customer.externalId !== scope.viewer.sub) throw forbidden("Not allowed to access another customer's data");
  return customer;
}
