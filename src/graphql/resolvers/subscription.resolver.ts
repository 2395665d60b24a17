// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { planOfSubscription } from '../../billing/plans/plan-of-subscription.js';
import { listSubscriptions, SUBSCRIPTIONS_DEFAULT_FIRST, SUBSCRIPTIONS_MAX_FIRST } from '../../billing/subscriptions/queries/list-subscriptions.js';
import type { SubscriptionStatusValue } from '../../billing/subscriptions/queries/subscription-queries.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { Customer } from '../types/customer.js';
import { SubscriptionStatus } from '../types/enums.js';
import { Invoice, toInvoice } from '../types/invoice.js';
import { Money } from '../types/money.js';
import { Plan } from '../types/plan.js';
import { BillingSubscription, toBillingSubscription } from '../types/subscription.js';
import { toCustomerNode } from './customer.resolver.js';
import { toPlanNode } from './plan.resolver.js';
import { selectsAnyField } from '../selection.js';
import { pageSize } from '../../billing/customers/keyset-cursor.js';

/**
 * Customer.subscriptions is a plain list (fixed by the public schema), so `first` bounds it, with
 * Stripe's own list default: it sits under customer lists, and the cost rule multiplies by it.
 */
const CUSTOMER_SUBSCRIPTIONS_DEFAULT_FIRST = 10;
const CUSTOMER_SUBSCRIPTIONS_MAX_FIRST = 100;

@ArgsType()
class SubscriptionsArgs {
  @Field(() => ID, { nullable: true, description: "cus_… or externalId. Omitted: the caller's own (admins: every customer's)." })
  customerId?: string | null;

  @Field(() => [SubscriptionStatus], { nullable: true, description: 'Only these statuses (all when omitted).' })
  status?: SubscriptionStatus[] | null;

  @Field(() => Int, {
    nullable: true,
    defaultValue: SUBSCRIPTIONS_DEFAULT_FIRST,
    description: `At most this many, newest first (1-${SUBSCRIPTIONS_MAX_FIRST}); the query's cost counts this many.`,
  })
  first?: number | null;
}

/** The customer node of an id; a placeholder when the customer is not mirrored yet (webhooks arrive in any order). */
export async function customerNodeOf(customerId: string, ctx: GraphQLContext): Promise<Customer> {
  const row = await ctx.loaders.customerById.load(customerId);
  if (row) return toCustomerNode(row);
  return Object.assign(new Customer(), { id: customerId, externalId: '', email: null, name: null, metadata: {}, createdAt: new Date(0) });
}

/** The Plan fields that depend on the mirrored Stripe price (see PlanService.get). */
const PRICED_PLAN_FIELDS: ReadonlySet<string> = new Set(['price', 'meters']);

@Resolver(() => BillingSubscription)
export class SubscriptionResolver {
  @Authorized('customer', 'admin')
  @Query(() => [BillingSubscription], { nullable: true, description: "Newest first. Customers see their own; admins any customer's, or all without customerId." })
  async subscriptions(@Args() { customerId, status, first }: SubscriptionsArgs, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription[]> {
    const rows = await listSubscriptions(ctx.services, ctx.auth, { customerId, statuses: (status ?? null) as SubscriptionStatusValue[] | null, first });
    return rows.map(toBillingSubscription);
  }

  @FieldResolver(() => Plan, { description: "The catalog plan (by the licensed price's lookup_key)." })
  async plan(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Plan> {
    // Only `price` and the meters' currency come from the mirrored price: `plan { id }` needs no statement.
    const mirroredPrice = selectsAnyField(info, PRICED_PLAN_FIELDS);
    return toPlanNode(await planOfSubscription(ctx.services.plans, sub.row, { mirroredPrice }));
  }

  @FieldResolver(() => Money, {
    description: "This subscription's normalised monthly amount (discounts applied, metered usage left out), whatever its status; only ACTIVE and PAST_DUE count toward a customer's MRR.",
  })
  async mrr(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext): Promise<Money> {
    const { amount, currency } = await ctx.services.subscriptionMrr.ofSubscription(sub.row);
    return toMoney(amount, currency);
  }

  @FieldResolver(() => Customer, { description: 'The subscribed customer.' })
  customer(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext): Promise<Customer> {
    return customerNodeOf(sub.row.customerId, ctx);
  }

  @FieldResolver(() => Invoice, { nullable: true, description: 'The most recent invoice, if any.' })
  async latestInvoice(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext): Promise<Invoice | null> {
    if (!sub.row.latestInvoiceId) return null;
    const row = await ctx.services.invoiceQueries.byId(sub.row.latestInvoiceId);
    return row ? toInvoice(row) : null;
  }
}

/** `Customer.subscriptions` and `Customer.mrr` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerSubscriptionsResolver {
  @FieldResolver(() => [BillingSubscription], { description: 'Newest first.' })
  async subscriptions(
    @Root() customer: Customer,
    @Arg('status', () => [SubscriptionStatus], { nullable: true, description: 'Only these statuses; omitted: all.' }) status: SubscriptionStatus[] | null | undefined,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, {
      nullable: true,
      defaultValue: CUSTOMER_SUBSCRIPTIONS_DEFAULT_FIRST,
      description: `At most this many, newest first (1-${CUSTOMER_SUBSCRIPTIONS_MAX_FIRST}); the query's cost counts this many. subscriptionsConnection pages through any number.`,
    })
    first: number | null | undefined,
  ): Promise<BillingSubscription[]> {
    const limit = pageSize(first, CUSTOMER_SUBSCRIPTIONS_DEFAULT_FIRST, CUSTOMER_SUBSCRIPTIONS_MAX_FIRST);
    const rows = await ctx.services.subscriptionQueries.forCustomer(customer.id, (status ?? null) as SubscriptionStatusValue[] | null);
    return rows.slice(0, limit).map(toBillingSubscription);
  }

  @FieldResolver(() => Money, { description: 'Sum of the ACTIVE and PAST_DUE subscriptions, exact, rounded half-up once.' })
  async mrr(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<Money> {
    const { amount, currency } = await ctx.services.subscriptionMrr.ofCustomer(customer.id);
    return toMoney(amount, currency);
  }
}
