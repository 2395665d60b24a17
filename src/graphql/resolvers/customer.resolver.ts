// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Args, ArgsType, Ctx, Field, ID, Int, Query, Resolver } from 'type-graphql';
import { assertCustomerInScope, requireAdmin, resolveCustomerScope } from '../../auth/guard.js';
import type { Customer as CustomerRow } from '../../db/entities/customer.js';
import type { GraphQLContext } from '../context.js';
import { Customer, CustomerConnection } from '../types/customer.js';

export function toCustomerNode(row: CustomerRow): Customer {
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
}

@Resolver(() => Customer)
export class CustomerResolver {
  @Query(() => Customer, {
    nullable: true,
    description: "No id: the caller's own customer (null before its first subscribe). With an id (cus_… or externalId): admins, or the caller itself.",
  })
  async customer(@Arg('id', () => ID, { nullable: true }) id: string | null | undefined, @Ctx() ctx: GraphQLContext): Promise<Customer | null> {
    const scope = resolveCustomerScope(ctx.auth, id);
    const row = assertCustomerInScope(scope, await ctx.services.customers.find(scope.ref));
    return row ? toCustomerNode(row) : null;
  }

  @Query(() => CustomerConnection, { description: 'Admins only. Newest first.' })
  async customers(@Args() { first, after, email }: CustomersArgs, @Ctx() ctx: GraphQLContext): Promise<CustomerConnection> {
    requireAdmin(ctx.auth);
    const page = await ctx.services.customers.list({ first, after, email });
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: toCustomerNode(e.node) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
      totalCount: page.totalCount,
    };
  }
}
