/**
 * What the subscription and session use cases need: the request's EntityManager, the Stripe client,
 * the plan catalog, the configuration (redirect allow-list) and, in sandbox, the test clock new
 * customers are put on. Use cases know nothing of GraphQL.
 */
import type Stripe from 'stripe';
import type { Catalog } from '../../catalog.js';
import type { Config } from '../../config.js';
import type { Em } from '../../db/orm.js';
import { internalError } from '../../errors.js';
import { logger } from '../../log.js';

export interface LifecycleDeps {
  em: Em;
  stripe: Stripe | undefined;
  catalog: Catalog;
  config: Pick<Config, 'portalReturnUrlAllowlist' | 'publicUrl'>;
  /** Sandbox only: every customer the gateway creates goes on this test clock. */
  testClockId?: string;
}

export function requireStripe(deps: LifecycleDeps): Stripe {
  if (!deps.stripe) {
    logger.error('a billing mutation ran without a Stripe client (GatewayServerDeps.stripe)');
    throw internalError();
  }
  return deps.stripe;
}

/** Request options with an idempotency key when there is one. */
export function keyed(idempotencyKey: string | undefined): Stripe.RequestOptions {
  return idempotencyKey ? { idempotencyKey } : {};
}
