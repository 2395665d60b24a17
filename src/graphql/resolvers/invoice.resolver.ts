// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Info, Int, Query, Resolver, Root } from 'type-graphql';
import type { InvoiceStatusValue } from '../../billing/invoices/invoice-queries.js';
import { customerInvoices, listInvoices, pagedBeyondFirst, type InvoiceListing } from '../../billing/invoices/list-invoices.js';
import type { GraphQLContext } from '../context.js';
import { Customer } from '../types/customer.js';
import { InvoiceStatus } from '../types/enums.js';
import { Invoice, InvoiceConnection, InvoiceLine, toInvoice, toInvoiceLine } from '../types/invoice.js';
import { BillingSubscription, toBillingSubscription } from '../types/subscription.js';
import { customerNodeOf } from './subscription.resolver.js';
import { invoicePageWantsLines } from '../selection.js';
import { pageSize } from '../../billing/customers/keyset-cursor.js';
import { toConnectionValue } from '../types/connection.js';

// ArgsTypes keep the arguments in schema.graphql's order (parameter decorators run in reverse).
@ArgsType()
class InvoicesArgs {
  @Field(() => ID, { nullable: true, description: "cus_… or externalId. Omitted: the caller's own (admins: every customer's)." })
  customerId?: string | null;

  @Field(() => InvoiceStatus, { nullable: true, description: 'Only invoices with this status.' })
  status?: InvoiceStatus | null;

  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1-100.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "A previous page's pageInfo.endCursor." })
  after?: string | null;

  @Field(() => Int, { nullable: true, description: 'Backward: at most this many invoices before `before` (1-100); when given, first is ignored.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: "Backward: continue before this cursor (a previous page's pageInfo.startCursor)." })
  before?: string | null;
}

@ArgsType()
class CustomerInvoicesArgs {
  @Field(() => Int, { nullable: true, defaultValue: 20, description: 'Page size, 1-100.' })
  first?: number | null;

  @Field(() => String, { nullable: true, description: "A previous page's pageInfo.endCursor." })
  after?: string | null;

  @Field(() => InvoiceStatus, { nullable: true, description: 'Only invoices with this status.' })
  status?: InvoiceStatus | null;

  @Field(() => Int, { nullable: true, description: 'Backward: at most this many invoices before `before` (1-100); when given, first is ignored.' })
  last?: number | null;

  @Field(() => String, { nullable: true, description: "Backward: continue before this cursor (a previous page's pageInfo.startCursor)." })
  before?: string | null;
}

function toConnection({ page, totalCount }: InvoiceListing, after: string | null | undefined): InvoiceConnection {
  const edges = page.edges.map((e) => ({ cursor: e.cursor, node: toInvoice(e.node) }));
  return Object.assign(new InvoiceConnection(), {
    edges,
    nodes: edges.map((e) => e.node),
    // The first page: nothing comes before it (later pages are keyset-paged both ways, see invoicesBeyondFirst).
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor, hasPreviousPage: after != null, startCursor: page.edges[0]?.cursor ?? null },
    loadTotalCount: totalCount,
  });
}

/**
 * Invoice.lines is a plain list (fixed by the public schema), so its size is bounded by `first`. The
 * default is Stripe's own list default: it sits under other lists, and the cost rule multiplies by it.
 */
const LINES_DEFAULT_FIRST = 10;
const LINES_MAX_FIRST = 100;

@Resolver(() => Invoice)
export class InvoiceResolver {
  @Authorized('customer', 'admin')
  @Query(() => InvoiceConnection, { nullable: true, description: "Newest first. Customers see their own; admins any customer's, or all without customerId." })
  async invoices(@Args() args: InvoicesArgs, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<InvoiceConnection> {
    const status = (args.status ?? null) as InvoiceStatusValue | null;
    // Past the first page, or backward: keyset-paged both ways with an exact pageInfo.
    if (pagedBeyondFirst(args)) return toConnectionValue(await ctx.services.pages.invoicesForViewer(ctx.auth, { ...args, status }), toInvoice) as InvoiceConnection;
    return toConnection(await listInvoices(ctx.services, ctx.auth, { ...args, status, withLines: invoicePageWantsLines(info) }), args.after);
  }

  // Not async: lines read with the invoice page are answered without a promise (see PrimedLoader).
  @FieldResolver(() => [InvoiceLine], { description: "In Stripe's order." })
  lines(
    @Root() invoice: Invoice,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, {
      nullable: true,
      defaultValue: LINES_DEFAULT_FIRST,
      description: `At most this many, in Stripe's order (1-${LINES_MAX_FIRST}); the query's cost counts this many. linesConnection pages through any number.`,
    })
    first: number | null | undefined,
  ): InvoiceLine[] | Promise<InvoiceLine[]> {
    const limit = pageSize(first, LINES_DEFAULT_FIRST, LINES_MAX_FIRST);
    if (invoice.inlineLines) return invoice.inlineLines.slice(0, limit);
    const loader = ctx.loaders.invoiceLinesByInvoiceId;
    const primed = loader.peek(invoice.id);
    if (primed) return primed.slice(0, limit).map(toInvoiceLine);
    return loader.load(invoice.id).then((lines) => lines.slice(0, limit).map(toInvoiceLine));
  }

  @FieldResolver(() => Customer, { description: 'The billed customer.' })
  customer(@Root() invoice: Invoice, @Ctx() ctx: GraphQLContext): Promise<Customer> {
    return customerNodeOf(invoice.customerId, ctx);
  }

  @FieldResolver(() => BillingSubscription, { nullable: true, description: 'The subscription it bills, if any.' })
  async subscription(@Root() invoice: Invoice, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription | null> {
    if (!invoice.subscriptionId) return null;
    const row = await ctx.services.subscriptionQueries.byId(invoice.subscriptionId);
    return row ? toBillingSubscription(row) : null;
  }
}

@Resolver(() => InvoiceConnection)
export class InvoiceConnectionResolver {
  @FieldResolver(() => Int, { description: 'All invoices the filter matches (the cursor aside).' })
  totalCount(@Root() connection: InvoiceConnection): Promise<number> | number {
    return connection.loadTotalCount ? connection.loadTotalCount() : connection.totalCount;
  }
}

/** `Customer.invoices` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerInvoicesResolver {
  @FieldResolver(() => InvoiceConnection, { description: 'Newest first.' })
  async invoices(@Root() customer: Customer, @Args() args: CustomerInvoicesArgs, @Ctx() ctx: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<InvoiceConnection> {
    const status = (args.status ?? null) as InvoiceStatusValue | null;
    if (pagedBeyondFirst(args)) return toConnectionValue(await ctx.services.pages.invoices({ customerId: customer.id, status }, args), toInvoice) as InvoiceConnection;
    return toConnection(await customerInvoices(ctx.services.invoiceQueries, customer.id, { ...args, status, withLines: invoicePageWantsLines(info) }), args.after);
  }
}
