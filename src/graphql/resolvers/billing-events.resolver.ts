// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { filter, pipe } from '@graphql-yoga/subscription';
import { Arg, Authorized, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import { TOPICS, type BillingEventPayload } from '../../events/topics.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
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

async function subscribeBillingEvents({ args, context }: SubscribeResolverData<unknown, BillingEventsArgs, GraphQLContext>) {
  const visible = await context.services.billingEventAudience.filterFor(context.auth, { types: args.types?.map(storedType), customerId: args.customerId });
  return pipe(signalBusOf(context).pubSub.subscribe(TOPICS.billingEvents), filter(visible));
}

@Resolver()
export class BillingEventsResolver {
  @Authorized('customer', 'admin')
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
