/**
 * `Query.node` for the types beyond customers, subscriptions and invoices: invoice lines, API keys,
 * parked webhook events and plans. Each is authorised as its list is.
 */
import { authorize } from '../../auth/guard.js';
import { ownedByViewer } from '../../billing/customers/owned-by-viewer.js';
import type { GraphQLContext } from '../context.js';
import { toInvoiceLine } from '../types/invoice.js';
import { nodeTypeOfId, type Node } from '../types/node.js';
import { toApiKeyNode } from './api-key.resolver.js';
import { ParkedWebhookEvent } from './parked-webhook-events.resolver.js';
import { toPlanNode } from './plan.resolver.js';

/** Admins see every customer's objects; a customer token its own (another customer's answers FORBIDDEN). */
const ownedByCaller = (ctx: GraphQLContext, customerId: string) => ownedByViewer(ctx.auth, ctx.services.customers, customerId);

export async function otherNode(id: string, ctx: GraphQLContext): Promise<Node | null> {
  switch (nodeTypeOfId(id)) {
    case 'InvoiceLine': {
      const line = await ctx.services.pages.invoiceLine(id);
      const invoice = line ? await ctx.services.invoiceQueries.byId(line.invoiceId) : null;
      if (!line || !invoice || !(await ownedByCaller(ctx, invoice.customerId))) return null;
      return toInvoiceLine(line);
    }
    case 'ApiKey': {
      const key = await ctx.services.pages.apiKey(id);
      if (!key || !(await ownedByCaller(ctx, key.customerId))) return null;
      return toApiKeyNode(key);
    }
    case 'ParkedWebhookEvent': {
      // Parked events are an operator's concern, as their list is.
      authorize(ctx.auth, ['admin']);
      const event = await ctx.services.pages.parkedEvent(id);
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
