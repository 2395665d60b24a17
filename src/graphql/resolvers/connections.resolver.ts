// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { SubscriptionStatusValue } from '../../billing/subscriptions/queries/subscription-queries.js';
import { arrayPage } from '../../db/keyset-page.js';
import type { GraphQLContext } from '../context.js';
import { ConnectionArgs, toConnectionValue, type ConnectionValue } from '../types/connection.js';
import { ApiKeyConnection, BillingSubscriptionConnection, InvoiceLineConnection, ParkedWebhookEventConnection } from '../types/connections.js';
import { Customer } from '../types/customer.js';
import { SubscriptionStatus } from '../types/enums.js';
import { Invoice, toInvoiceLine, type InvoiceLine } from '../types/invoice.js';
import { toBillingSubscription, type BillingSubscription } from '../types/subscription.js';
import type { ApiKey } from '../types/api-key.js';
import { toApiKeyNode } from './api-key.resolver.js';
import { ParkedWebhookEvent } from './parked-webhook-events.resolver.js';

@ArgsType()
class CustomerSubscriptionsConnectionArgs extends ConnectionArgs {
  @Field(() => [SubscriptionStatus], { nullable: true, description: 'Only these statuses; omitted: all.' })
  status?: SubscriptionStatus[] | null;
}

@ArgsType()
class SubscriptionsConnectionArgs extends CustomerSubscriptionsConnectionArgs {
  @Field(() => ID, { nullable: true, description: "cus_… or externalId. Omitted: the caller's own (admins: every customer's)." })
  customerId?: string | null;
}

const statusesOf = (status: SubscriptionStatus[] | null | undefined) => (status ?? null) as SubscriptionStatusValue[] | null;

/** Query's connections beside its plain lists: subscriptions and parked webhook events. */
@Resolver()
export class ListConnectionsResolver {
  @Authorized('customer', 'admin')
  @Query(() => BillingSubscriptionConnection, {
    nullable: true,
    description: "Newest first, paged (the connection form of subscriptions). Customers see their own; admins any customer's, or every customer's without customerId.",
  })
  async subscriptionsConnection(@Args() { customerId, status, ...page }: SubscriptionsConnectionArgs, @Ctx() ctx: GraphQLContext): Promise<ConnectionValue<BillingSubscription>> {
    return toConnectionValue(await ctx.services.pages.subscriptionsForViewer(ctx.auth, { customerId, statuses: statusesOf(status) }, page), toBillingSubscription);
  }

  @Authorized('admin')
  @Query(() => ParkedWebhookEventConnection, { nullable: true, description: 'Admins only. Webhook events parked after repeated processing failures, newest first by receipt, paged.' })
  async parkedWebhookEventsConnection(@Args() page: ConnectionArgs, @Ctx() ctx: GraphQLContext): Promise<ConnectionValue<ParkedWebhookEvent>> {
    return toConnectionValue(await ctx.services.pages.parkedEvents(page), (e) => Object.assign(new ParkedWebhookEvent(), e));
  }
}

/** Customer's connections beside its plain lists (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerConnectionsResolver {
  @FieldResolver(() => BillingSubscriptionConnection, { description: 'Newest first, paged (the connection form of subscriptions).' })
  async subscriptionsConnection(@Root() customer: Customer, @Args() { status, ...page }: CustomerSubscriptionsConnectionArgs, @Ctx() ctx: GraphQLContext): Promise<ConnectionValue<BillingSubscription>> {
    return toConnectionValue(await ctx.services.pages.subscriptions({ customerId: customer.id, statuses: statusesOf(status) }, page), toBillingSubscription);
  }

  @FieldResolver(() => ApiKeyConnection, { description: "The customer's API keys, oldest first, revoked ones included, paged (the connection form of apiKeys)." })
  async apiKeysConnection(@Root() customer: Customer, @Args() page: ConnectionArgs, @Ctx() ctx: GraphQLContext): Promise<ConnectionValue<ApiKey>> {
    return toConnectionValue(await ctx.services.pages.apiKeys(customer.id, page), toApiKeyNode);
  }
}

/** `Invoice.linesConnection` (the Invoice is already authorised by whoever returned it). */
@Resolver(() => Invoice)
export class InvoiceLinesConnectionResolver {
  @FieldResolver(() => InvoiceLineConnection, { description: "In Stripe's order, paged (the connection form of lines)." })
  async linesConnection(@Root() invoice: Invoice, @Args() page: ConnectionArgs, @Ctx() ctx: GraphQLContext): Promise<ConnectionValue<InvoiceLine>> {
    // A preview is never stored: its lines came with it.
    if (invoice.inlineLines) return toConnectionValue(arrayPage(invoice.inlineLines, (l) => l.id, page), (l) => l);
    return toConnectionValue(await ctx.services.pages.invoiceLines(invoice.id, page), toInvoiceLine);
  }
}
