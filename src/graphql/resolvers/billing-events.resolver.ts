// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { filter, pipe } from '@graphql-yoga/subscription';
import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { requireViewer, resolveCustomerScope, type CustomerRef } from '../../auth/guard.js';
import { queryRows } from '../../db/sql.js';
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import { TOPICS, type BillingEventPayload } from '../../events/topics.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { forbidden } from '../errors.js';
import { BillingEvent } from '../types/billing-event.js';
import { BillingEventType } from '../types/enums.js';
import { signalBusOf } from './mrr.resolver.js';

export function toBillingEventNode(p: BillingEventPayload): BillingEvent {
  return Object.assign(new BillingEvent(), {
    id: p.id,
    type: BillingEventType[p.type],
    occurredAt: new Date(p.occurredAt),
    customerId: p.customerId,
    subscriptionId: p.subscriptionId,
    invoiceId: p.invoiceId,
    amount: p.amount ? toMoney(p.amount.amount, p.amount.currency) : null,
    message: p.message,
  });
}

/** GraphQL enum value (`payment_received`) → stored type (`PAYMENT_RECEIVED`). */
const storedType = (t: BillingEventType): BillingEventTypeValue => t.toUpperCase() as BillingEventTypeValue;

interface BillingEventsArgs {
  types?: BillingEventType[] | null;
  customerId?: string | null;
}

/**
 * The owner (externalId) of a customer id, for events published before the customer row was known.
 * Cached per subscription; a missing row means "nobody's", so a customer token never sees it.
 */
function ownerLookup(ctx: GraphQLContext): (customerId: string) => Promise<string | null> {
  const cache = new Map<string, Promise<string | null>>();
  return (customerId) => {
    let owner = cache.get(customerId);
    if (!owner) {
      owner = queryRows<{ external_id: string | null }>(ctx.em, 'select external_id from customers where id = ?', [customerId]).then(
        (rows) => rows[0]?.external_id ?? null,
      );
      cache.set(customerId, owner);
    }
    return owner;
  };
}

async function subscribeBillingEvents({ args, context }: SubscribeResolverData<unknown, BillingEventsArgs, GraphQLContext>) {
  const viewer = requireViewer(context.auth);
  const types = args.types?.length ? new Set(args.types.map(storedType)) : null;
  const ownerOf = ownerLookup(context);
  const externalIdOf = async (p: BillingEventPayload) => p.customerExternalId ?? (p.customerId ? await ownerOf(p.customerId) : null);

  let named: CustomerRef | null = null;
  if (args.customerId !== undefined && args.customerId !== null) {
    const scope = resolveCustomerScope(context.auth, args.customerId);
    named = scope.ref;
    if (scope.ownOnly && named.kind === 'stripeId') {
      // A customer token naming a cus_… id: only its own (an unknown id is FORBIDDEN too, so ids cannot be probed).
      if ((await ownerOf(named.id)) !== viewer.sub) throw forbidden("Not allowed to access another customer's data");
    }
  }
  const isAdmin = viewer.role === 'admin';

  return pipe(
    signalBusOf(context).pubSub.subscribe(TOPICS.billingEvents),
    filter(async (p: BillingEventPayload) => {
      if (types && !types.has(p.type)) return false;
      if (!isAdmin && (await externalIdOf(p)) !== viewer.sub) return false;
      if (!named) return true;
      if (named.kind === 'stripeId') return p.customerId === named.id;
      return (await externalIdOf(p)) === named.externalId;
    }),
  );
}

@Resolver()
export class BillingEventsResolver {
  @Subscription(() => BillingEvent, {
    description: 'Customers receive their own events only; admins all, optionally filtered.',
    subscribe: subscribeBillingEvents as never,
  })
  billingEvents(
    @Root() event: BillingEventPayload,
    @Arg('types', () => [BillingEventType], { nullable: true, description: 'Only these types; omitted: all.' }) _types?: BillingEventType[],
    @Arg('customerId', () => ID, { nullable: true, description: "Admins: only this customer's events (cus_… or externalId)." }) _customerId?: string,
  ): BillingEvent {
    return toBillingEventNode(event);
  }
}
