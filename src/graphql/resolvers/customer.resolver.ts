// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, ID, Info, Int, Query, Resolver } from 'type-graphql';
import type { Customer as CustomerRow } from '../../db/entities/customer.js';
import type { GraphQLContext } from '../context.js';
import { Customer, CustomerConnection } from '../types/customer.js';
import { toConnectionValue } from '../types/connection.js';
import { customerForViewer } from '../../billing/customers/customer-for-viewer.js';
import { customerReadWants } from '../loaders/customer-read-plan.js';

export function toCustomerNode(row: Omit<CustomerRow, 'raw'>): Customer {
  return Object.assign(new Customer(), {
    id: row.id,
    externalId: row.externalId ?? '',
    email: row.email ?? null,
    name: row.name ?? null,
    metadata: row.metadata ?? {},
    createdAt: row.createdAt,
  });
}

// An ArgsType keeps the arguments in declaration order in the SDL (parameter decorators run in reverse).
@ArgsType()
class CustomersArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1-100.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "A previous page's pageInfo.endCursor." })
  after?: string | null;

  @Field(() => String, { nullable: true, description: 'Only customers with exactly this email.' })
  email?: string | null;

  @Field(() => Int, { nullable: true, description: 'Backward: at most this many customers before `before` (1-100); when given, first is ignored.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: "Backward: continue before this cursor (a previous page's pageInfo.startCursor)." })
  before?: string | null;
}

@Resolver(() => Customer)
export class CustomerResolver {
  @Authorized('customer', 'admin')
  @Query(() => Customer, {
    nullable: true,
    description: "No id: the caller's own customer (null before its first subscribe). With an id (cus_… or externalId): admins, or the caller itself.",
  })
  async customer(
    @Arg('id', () => ID, { nullable: true, description: "cus_… or externalId; omitted: the caller's own customer." }) id: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Customer | null> {
    const row = await customerForViewer(ctx.services.customers, ctx.auth, id, customerReadWants(info));
    return row ? toCustomerNode(row) : null;
  }

  @Authorized('admin')
  @Query(() => CustomerConnection, { nullable: true, description: 'Admins only. Newest first.' })
  async customers(@Args() { email, ...page }: CustomersArgs, @Ctx() ctx: GraphQLContext): Promise<CustomerConnection> {
    return toConnectionValue(await ctx.services.pages.customers({ email }, page), toCustomerNode);
  }
}
