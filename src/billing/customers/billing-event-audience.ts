/**
 * Who receives which live billing event (`billingEvents`): a customer token only its own customer's
 * events, an admin every event, both optionally narrowed to some types and one customer (cus_… or
 * externalId). A customer token naming a `cus_…` id that is not its own (or unknown) is FORBIDDEN,
 * so ids cannot be probed.
 */
import { requireViewer, resolveCustomerScope, type Authentication, type CustomerRef } from '../../auth/guard.js';
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import type { Em } from '../../db/orm.js';
import { forbidden } from '../../errors.js';
import type { BillingEventPayload } from '../../events/topics.js';
import { queryRows } from '../../db/sql.js';

export interface BillingEventFilter {
  types?: readonly BillingEventTypeValue[] | null;
  customerId?: string | null;
}

export class BillingEventAudience {
  constructor(private readonly em: Em) {}

  /** The test one subscriber's events pass; throws the subscription's own auth errors at once. */
  async filterFor(auth: Authentication, filter: BillingEventFilter): Promise<(event: BillingEventPayload) => Promise<boolean>> {
    const viewer = requireViewer(auth);
    const types = filter.types?.length ? new Set(filter.types) : null;
    const ownerOf = this.ownerLookup();
    const externalIdOf = async (p: BillingEventPayload) => p.customerExternalId ?? (p.customerId ? await ownerOf(p.customerId) : null);

    let named: CustomerRef | null = null;
    if (filter.customerId !== undefined && filter.customerId !== null) {
      const scope = resolveCustomerScope(auth, filter.customerId);
      named = scope.ref;
      if (scope.ownOnly && named.kind === 'stripeId' && (await ownerOf(named.id)) !== viewer.sub) {
        throw forbidden("Not allowed to access another customer's data");
      }
    }
    const isAdmin = viewer.role === 'admin';
    const customer = named;
    return async (p) => {
      if (types && !types.has(p.type)) return false;
      if (!isAdmin && (await externalIdOf(p)) !== viewer.sub) return false;
      if (!customer) return true;
      if (customer.kind === 'stripeId') return p.customerId === customer.id;
      return (await externalIdOf(p)) === customer.externalId;
    };
  }

  /**
   * The owner (externalId) of a customer id, for events published before the customer row was known.
   * Cached per subscriber; a missing row means "nobody's", so a customer token never sees it.
   */
  private ownerLookup(): (customerId: string) => Promise<string | null> {
    const cache = new Map<string, Promise<string | null>>();
    return (customerId) => {
      let owner = cache.get(customerId);
      if (!owner) {
        owner = queryRows<{ external_id: string | null }>(this.em, 'select external_id from customers where id = ?', [customerId]).then((rows) => rows[0]?.external_id ?? null);
        cache.set(customerId, owner);
      }
      return owner;
    };
  }
}
