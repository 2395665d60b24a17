/**
 * `Query.node` for the types beyond customers, subscriptions and invoices: invoice lines, API keys,
 * parked webhook events and plans. Each is authorised as its list is.
 */
import { authorize } from '../../auth/guard.js';
import { apiKeyById, invoiceLineById, parkedEventById } from '../../billing/pages/node-reads.js';
import { resolveListScope } from '../../billing/subscriptions/queries/list-scope.js';
import type { GraphQLContext } from '../context.js';
import { toInvoiceLine } from '../types/invoice.js';
import { nodeTypeOfId, type Node } from '../types/node.js';
import { toApiKeyNode } from './api-key.resolver.js';
import { ParkedWebhookEvent } from './parked-webhook-events.resolver.js';
import { toPlanNode } from './plan.resolver.js';

/** Admins see every customer's objects; a customer token its own (another customer's answers FORBIDDEN). */
async function ownedByCaller(ctx: GraphQLContext, customerId: string): Promise<boolean> {
  const scope = await resolveListScope(ctx.auth, ctx.services.customers, customerId);
  return scope.kind === 'customer' && scope.customerId === customerId;
}

export async function otherNode(id: string, ctx: GraphQLContext): Promise<Node | null> {
  switch (nodeTypeOfId(id)) {
    case 'InvoiceLine': {
      const line = await invoiceLineById(ctx.em, id);
      const invoice = line ? await ctx.services.invoiceQueries.byId(line.invoiceId) : null;
      if (!line || !invoice || !(await ownedByCaller(ctx, invoice.customerId))) return null;
      return toInvoiceLine(line);
    }
    case 'ApiKey': {
      const key = await apiKeyById(ctx.em, id);
      if (!key || !(await ownedByCaller(ctx, key.customerId))) return null;
      return toApiKeyNode(key);
    }
    case 'ParkedWebhookEvent': {
      // Parked events are an operator's concern, as their list is.
      authorize(ctx.auth, ['admin']);
      const event = await parkedEventById(ctx.em, id);
      return event ? Object.assign(new ParkedWebhookEvent(), event) : null;
    }
    case null: {
      const plan = await ctx.services.plans.get(id);
      return plan ? toPlanNode(plan) : null;
    }
    default:
      return null;
  }
}
