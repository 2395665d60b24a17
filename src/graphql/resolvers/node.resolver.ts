// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { customerForViewer } from '../../billing/customers/customer-for-viewer.js';
import { ownedByViewer } from '../../billing/customers/owned-by-viewer.js';
import type { GraphQLContext } from '../context.js';
import { toInvoice } from '../types/invoice.js';
import { Node, nodeTypeOfId } from '../types/node.js';
import { toBillingSubscription } from '../types/subscription.js';
import { toCustomerNode } from './customer.resolver.js';
import { otherNode } from './more-nodes.js';

@Resolver()
export class NodeResolver {
  @Authorized('customer', 'admin')
  @Query(() => Node, {
    nullable: true,
    description:
      "Any object by its id, read from the mirror: a customer (cus_…), subscription (sub_…), invoice (in_…), invoice line (il_…), API key (key_…), parked webhook event (evt_…, admins only) or plan (its catalog id). Customers: their own objects only (another customer's: FORBIDDEN); admins: any. Null when the id is unknown.",
  })
  async node(@Arg('id', () => ID, { description: 'A Node id: cus_…, sub_…, in_…, il_…, key_…, evt_… or a plan id.' }) id: string, @Ctx() ctx: GraphQLContext): Promise<Node | null> {
    const customers = ctx.services.customers;
    switch (nodeTypeOfId(id)) {
      case 'Customer': {
        const row = await customerForViewer(customers, ctx.auth, id);
        return row ? toCustomerNode(row) : null;
      }
      case 'BillingSubscription': {
        const row = await ctx.services.subscriptionQueries.byId(id);
        if (!row || !(await ownedByViewer(ctx.auth, customers, row.customerId))) return null;
        return toBillingSubscription(row);
      }
      case 'Invoice': {
        const row = await ctx.services.invoiceQueries.byId(id);
        if (!row || !(await ownedByViewer(ctx.auth, customers, row.customerId))) return null;
        return toInvoice(row);
      }
      default:
        return otherNode(id, ctx);
    }
  }
}
