// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { entitlementForViewer } from '../../billing/usage/entitlement-for-viewer.js';
import type { GraphQLContext } from '../context.js';
import { Customer } from '../types/customer.js';
import { Entitlement, EntitlementReason, ReportUsageInput, UsageRecord, UsageSummary } from '../types/usage.js';
import type { EntitlementView } from '../../billing/usage/entitlements.js';
import { errorsDoc } from '../types/error-code.js';

/** `owner`: the customer (cus_…), or the viewer's sub before it has one; ids derive from it, so a client cache keeps one entry each. */
const toEntitlement = (e: EntitlementView, owner: string): Entitlement => ({ ...e, id: `Entitlement:${owner}:${e.feature}`, reason: e.reason as EntitlementReason });

// An ArgsType keeps the arguments in declaration order in the SDL (parameter decorators run in reverse).
@ArgsType()
class EntitlementArgs {
  @Field(() => String, { description: 'A plan feature (e.g. "Priority support") or a meter id (e.g. api_calls).' })
  feature!: string;

  @Field(() => ID, { nullable: true, description: "cus_… or externalId. Omitted: the caller's own customer." })
  customerId?: string | null;
}

/** reportUsage, reportUsageBatch and entitlement: parse, authorise, call the usage service. */
@Resolver()
export class UsageResolver {
  @Authorized('customer', 'admin')
  @Mutation(() => UsageRecord, {
    nullable: true,
    description:
      'Record usage of a meter (customers for themselves; admins name customerId). The same idempotencyKey counts once, forever: a repeat returns the original record with duplicate: true.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND'),
  })
  reportUsage(@Arg('input', () => ReportUsageInput, { description: 'The record.' }) input: ReportUsageInput, @Ctx() ctx: GraphQLContext): Promise<UsageRecord> {
    return ctx.services.usage.report(ctx.auth, input);
  }

  @Authorized('customer', 'admin')
  @Mutation(() => [UsageRecord], {
    nullable: true,
    deprecationReason: 'Use reportUsageRecords(input: { records }); this field will be removed in the next release.',
    description:
      'Up to 1,000 records in one transaction, all or nothing: one UsageRecord per input, in order (duplicate: true for keys seen before or earlier in the batch). ' +
      'Any bad record fails the call with BAD_USER_INPUT, field input[i].<field>, every bad record in extensions.errors; nothing is stored.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND'),
  })
  reportUsageBatch(@Arg('input', () => [ReportUsageInput], { description: 'Up to 1,000 records.' }) input: ReportUsageInput[], @Ctx() ctx: GraphQLContext): Promise<UsageRecord[]> {
    return ctx.services.usage.reportBatch(ctx.auth, input);
  }

  @Authorized('customer', 'admin')
  @Query(() => Entitlement, {
    nullable: true,
    description: 'May the customer use this feature (a plan feature or a meter id) now? Customers ask for themselves; admins name customerId (cus_… or externalId).',
  })
  async entitlement(@Args() { feature, customerId }: EntitlementArgs, @Ctx() ctx: GraphQLContext): Promise<Entitlement> {
    const view = await entitlementForViewer(ctx.services, ctx.auth, { feature, customerId });
    return toEntitlement(view, view.owner);
  }
}

/** `Customer.usage` and `Customer.entitlements` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerUsageResolver {
  @FieldResolver(() => [UsageSummary], { description: "Per meter of the customer's plan: the current period's recorded quantity, included units and overage." })
  async usage(@Root() customer: Customer, @Arg('meter', () => String, { nullable: true, description: 'Only this meter; omitted: every meter of the plan.' }) meter: string | null | undefined, @Ctx() ctx: GraphQLContext): Promise<UsageSummary[]> {
    return (await ctx.services.usage.usage(customer.id, meter)).map((u) => ({ ...u, id: `UsageSummary:${customer.id}:${u.meter}:${u.periodStart.toISOString()}` }));
  }

  @FieldResolver(() => [Entitlement], { description: "The plan's features, then its meters, each with whether it is allowed now." })
  async entitlements(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<Entitlement[]> {
    return (await ctx.services.usage.entitlements(customer.id)).map((e) => toEntitlement(e, customer.id));
  }
}
