// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Ctx, Field, ID, Info, Int, Query, Resolver } from 'type-graphql';
import { assertCustomerInScope, requireAdmin, resolveCustomerScope } from '../../auth/guard.js';
import type { Customer as CustomerRow } from '../../db/entities/customer.js';
import type { GraphQLContext } from '../context.js';
import { Customer, CustomerConnection } from '../types/customer.js';
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
}

@Resolver(() => Customer)
export class CustomerResolver {
  @Query(() => Customer, {
    nullable: true,
    description: "No id: the caller's own customer (null before its first subscribe). With an id (cus_… or externalId): admins, or the caller itself.",
  })
  async customer(
    @Arg('id', () => ID, { nullable: true, description: "cus_… or externalId; omitted: the caller's own customer." }) id: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Customer | null> {
    const scope = resolveCustomerScope(ctx.auth, id);
    // A customer token naming a cus_… id reads nothing more until the row proves it is its own.
    const customers = ctx.services.customers;
    const row = assertCustomerInScope(scope, await (scope.ownOnly ? customers.find(scope.ref) : customers.findWith(scope.ref, customerReadWants(info))));
    return row ? toCustomerNode(row) : null;
  }

  @Query(() => CustomerConnection, { nullable: true, description: 'Admins only. Newest first.' })
  async customers(@Args() { first, after, email }: CustomersArgs, @Ctx() ctx: GraphQLContext): Promise<CustomerConnection> {
    requireAdmin(ctx.auth);
    const page = await ctx.services.customers.list({ first, after, email });
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: toCustomerNode(e.node) })),
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor, hasPreviousPage: after != null, startCursor: page.edges[0]?.cursor ?? null },
      totalCount: page.totalCount,
    };
  }
}
