// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { getArgumentValues, isObjectType, type GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Ctx, Field, ID, Info, Int, Query, Resolver } from 'type-graphql';
import { assertCustomerInScope, requireAdmin, resolveCustomerScope } from '../../auth/guard.js';
import type { Customer as CustomerRow } from '../../db/entities/customer.js';
import type { GraphQLContext } from '../context.js';
import { Customer, CustomerConnection } from '../types/customer.js';
import { fieldsNamed } from '../selection.js';
import { customerInvoices, invoicePageWantsLines } from './invoice.resolver.js';

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
    @Arg('id', () => ID, { nullable: true }) id: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Customer | null> {
    const scope = resolveCustomerScope(ctx.auth, id);
    if (scope.ref.kind === 'stripeId' && !scope.ownOnly) prefetchCustomerFields(scope.ref.id, info, ctx);
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

/**
 * Starts the reads of the selected `subscriptions` and `invoices` of customer `id` alongside the
 * customer's own row, instead of one round trip after it: their field resolvers then find them in
 * the request's DataLoader caches (same keys). Only for an id that needs no ownership check, so
 * nothing is read for a caller who may not see it; errors are left for the field resolvers to report.
 */
function prefetchCustomerFields(id: string, info: GraphQLResolveInfo, ctx: GraphQLContext): void {
  const type = info.schema.getType('Customer');
  if (!isObjectType(type)) return;
  const fields = type.getFields();
  const ignore = () => undefined;
  for (const node of info.fieldNodes) {
    if (fieldsNamed(node.selectionSet, info.fragments, 'subscriptions').length > 0) {
      ctx.services.subscriptionQueries.forCustomer(id).catch(ignore);
    }
    for (const invoices of fieldsNamed(node.selectionSet, info.fragments, 'invoices')) {
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(fields.invoices!, invoices, info.variableValues);
      } catch {
        continue;
      }
      const withLines = invoicePageWantsLines({ fieldNodes: [invoices], fragments: info.fragments });
      // A bad `first`/`after` rejects here too: the field resolver reports it.
      customerInvoices(ctx.services.invoiceQueries, id, args as Parameters<typeof customerInvoices>[2], withLines).catch(ignore);
    }
  }
}
