// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { assertCustomerInScope, requireViewer, resolveCustomerScope } from '../../auth/guard.js';
import { resolveListScope } from '../../billing/subscriptions/queries/list-scope.js';
import type { GraphQLContext } from '../context.js';
import { toInvoice } from '../types/invoice.js';
import { Node, nodeTypeOfId } from '../types/node.js';
import { toBillingSubscription } from '../types/subscription.js';
import { toCustomerNode } from './customer.resolver.js';
import { otherNode } from './more-nodes.js';

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description:
      "Any object by its id, read from the mirror: a customer (cus_…), subscription (sub_…), invoice (in_…), invoice line (il_…), API key (key_…), parked webhook event (evt_…, admins only) or plan (its catalog id, public). Customers: their own objects only (another customer's: FORBIDDEN); admins: any. Null when the id is unknown.",
  })
  async node(@Arg('id', () => ID, { description: 'A Node id: cus_…, sub_…, in_…, il_…, key_…, evt_… or a plan id.' }) id: string, @Ctx() ctx: GraphQLContext): Promise<Node | null> {
    const customers = ctx.services.customers;
    switch (nodeTypeOfId(id)) {
      case 'Customer': {
        const scope = resolveCustomerScope(ctx.auth, id);
        const row = assertCustomerInScope(scope, await customers.find(scope.ref));
        return row ? toCustomerNode(row) : null;
      }
      case 'BillingSubscription': {
        requireViewer(ctx.auth);
        const row = await ctx.services.subscriptionQueries.byId(id);
        if (!row || !(await ownedByCaller(ctx, row.customerId))) return null;
        return toBillingSubscription(row);
      }
      case 'Invoice': {
        requireViewer(ctx.auth);
        const row = await ctx.services.invoiceQueries.byId(id);
        if (!row || !(await ownedByCaller(ctx, row.customerId))) return null;
        return toInvoice(row);
      }
      default:
        return otherNode(id, ctx);
    }
  }
}

/** Admins see every customer's objects; a customer token its own (another customer's answers FORBIDDEN). */
async function ownedByCaller(ctx: GraphQLContext, customerId: string): Promise<boolean> {
  const scope = await resolveListScope(ctx.auth, ctx.services.customers, customerId);
  return scope.kind === 'customer' && scope.customerId === customerId;
}
