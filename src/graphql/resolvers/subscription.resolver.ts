// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import type Stripe from 'stripe';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import { resolveListScope } from '../../billing/subscriptions/queries/list-scope.js';
import { customerMrr, subscriptionExactMrr, unexpandedItemPriceIds, type MrrPriceFacts } from '../../billing/subscriptions/queries/subscription-mrr.js';
import type { SubscriptionStatusValue } from '../../billing/subscriptions/queries/subscription-queries.js';
import { roundHalfUp } from '../../mrr/index.js';
import type { Subscription as SubscriptionRow } from '../../db/entities/subscription.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { AppError } from '../errors.js';
import { Customer } from '../types/customer.js';
import { BillingInterval, SubscriptionStatus } from '../types/enums.js';
import { Invoice, toInvoice } from '../types/invoice.js';
import { Money } from '../types/money.js';
import { Plan } from '../types/plan.js';
import { BillingSubscription, toBillingSubscription } from '../types/subscription.js';
import { toCustomerNode } from './customer.resolver.js';
import { toPlanNode } from './plan.resolver.js';
import { selectsAnyField } from '../selection.js';

/** Query.subscriptions is a plain list (fixed by the public schema), so its size is bounded by `first`. */
const SUBSCRIPTIONS_DEFAULT_FIRST = 100;
const SUBSCRIPTIONS_MAX_FIRST = 1000;

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

/** Facts for item prices that `raw` holds as bare ids (rare), through the request's price loader. */
async function mrrPrices(rows: readonly SubscriptionRow[], ctx: GraphQLContext): Promise<Map<string, MrrPriceFacts>> {
  const ids = [...new Set(rows.flatMap(unexpandedItemPriceIds))];
  if (ids.length === 0) return new Map();
  const facts = await ctx.loaders.mrrPriceById.loadMany(ids);
  const out = new Map<string, MrrPriceFacts>();
  ids.forEach((id, i) => {
    const f = facts[i];
    if (f && !(f instanceof Error)) out.set(id, f);
  });
  return out;
}

/** A plan for a subscription whose price is not in the catalog (e.g. created in the Stripe dashboard). */
function planFromPrice(row: SubscriptionRow): Plan {
  const items = (row.raw?.items?.data ?? []) as Stripe.SubscriptionItem[];
  const prices = items.map((i) => i.price as Stripe.Price | string).filter((p): p is Stripe.Price => typeof p !== 'string');
  const price = prices.find((p) => p.recurring?.usage_type !== 'metered') ?? prices[0];
  const id = row.planId ?? price?.lookup_key ?? row.priceId ?? price?.id ?? 'unknown';
  return Object.assign(new Plan(), {
    id,
    name: price?.nickname ?? id,
    price: typeof price?.unit_amount === 'number' ? toMoney(price.unit_amount, price.currency) : null,
    interval: (price?.recurring?.interval ?? 'month') as BillingInterval,
    intervalCount: price?.recurring?.interval_count ?? 1,
    perSeat: false,
    selfServe: false,
    features: [],
    meters: [],
    // Not a catalog plan: its API keys have no limits and are not metered.
    apiLimits: { rateLimitPerMinute: null, quota: null, meter: null },
  });
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
  @Query(() => [BillingSubscription], { nullable: true, description: "Newest first. Customers see their own; admins any customer's, or all without customerId." })
  async subscriptions(@Args() { customerId, status, first }: SubscriptionsArgs, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription[]> {
    const limit = first ?? SUBSCRIPTIONS_DEFAULT_FIRST;
    if (!Number.isInteger(limit) || limit < 1 || limit > SUBSCRIPTIONS_MAX_FIRST) {
      throw new AppError('BAD_USER_INPUT', `first must be between 1 and ${SUBSCRIPTIONS_MAX_FIRST}`, { field: 'first' });
    }
    const scope = await resolveListScope(ctx.auth, ctx.services.customers, customerId);
    const statuses = (status ?? null) as SubscriptionStatusValue[] | null;
    const q = ctx.services.subscriptionQueries;
    const rows = scope.kind === 'all' ? await q.all(statuses, limit) : scope.kind === 'customer' ? (await q.forCustomer(scope.customerId, statuses)).slice(0, limit) : [];
    return rows.map(toBillingSubscription);
  }

  @FieldResolver(() => Plan, { description: "The catalog plan (by the licensed price's lookup_key)." })
  async plan(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Plan> {
    // Only `price` and the meters' currency come from the mirrored price: `plan { id }` needs no statement.
    const mirroredPrice = selectsAnyField(info, PRICED_PLAN_FIELDS);
    const view = sub.row.planId ? await ctx.services.plans.get(sub.row.planId, { mirroredPrice }) : null;
    return view ? toPlanNode(view) : planFromPrice(sub.row);
  }

  @FieldResolver(() => Money, {
    description: "This subscription's normalised monthly amount (discounts applied, metered usage left out), whatever its status; only ACTIVE and PAST_DUE count toward a customer's MRR.",
  })
  async mrr(@Root() sub: BillingSubscription, @Ctx() ctx: GraphQLContext): Promise<Money> {
    return toMoney(roundHalfUp(subscriptionExactMrr(sub.row, await mrrPrices([sub.row], ctx))), sub.row.currency);
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
  ): Promise<BillingSubscription[]> {
    const rows = await ctx.services.subscriptionQueries.forCustomer(customer.id, (status ?? null) as SubscriptionStatusValue[] | null);
    return rows.map(toBillingSubscription);
  }

  @FieldResolver(() => Money, { description: 'Sum of the ACTIVE and PAST_DUE subscriptions, exact, rounded half-up once.' })
  async mrr(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<Money> {
    const rows = await ctx.services.subscriptionQueries.forCustomer(customer.id);
    const fallbackCurrency = ctx.deps.catalog.plans[0]?.currency ?? 'usd';
    const { amount, currency } = customerMrr(rows, fallbackCurrency, await mrrPrices(rows, ctx));
    return toMoney(amount, currency);
  }
}
