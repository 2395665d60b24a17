/**
 * `invoices(customerId, status, first, after)` and `Customer.invoices`: the page a caller may see.
 * No customerId: a customer token its own invoices, an admin everyone's; with one, admins any
 * customer's and a customer token only its own (see `resolveListScope`). A caller with no customer
 * yet gets an empty page, its arguments checked all the same.
 */
import type { Authentication } from '../../auth/guard.js';
import { resolveListScope, type CustomerFinder } from '../subscriptions/queries/list-scope.js';
import type { InvoicePage, InvoiceQueries, InvoiceStatusValue, ListInvoicesInput } from './invoice-queries.js';
import type { PageArgs } from '../pages/list-pages.js';
import { validatePageArgs } from '../../db/keyset-page.js';

/** A page and a way to count every invoice its filter matches (run only when asked for). */
export interface InvoiceListing {
  page: InvoicePage;
  totalCount: () => Promise<number>;
}

export interface ListInvoicesDeps {
  customers: CustomerFinder;
  invoiceQueries: InvoiceQueries;
}

const EMPTY_PAGE: InvoicePage = { edges: [], hasNextPage: false, endCursor: null };

export async function listInvoices(
  deps: ListInvoicesDeps,
  auth: Authentication,
  input: ListInvoicesInput & { customerId?: string | null; withLines?: boolean },
): Promise<InvoiceListing> {
  const scope = await resolveListScope(auth, deps.customers, input.customerId);
  const q = deps.invoiceQueries;
  if (scope.kind === 'customer') return customerInvoices(q, scope.customerId, input);
  const status = input.status ?? null;
  if (scope.kind === 'all') return { page: await q.pageAll({ first: input.first, after: input.after, status }), totalCount: () => q.countAll(status) };
  validatePageArgs({ first: input.first, after: input.after }, 'timestamp');
  return { page: EMPTY_PAGE, totalCount: async () => 0 };
}

/** One customer's invoices (the customer is already authorised by whoever named it). */
export async function customerInvoices(q: InvoiceQueries, customerId: string, input: ListInvoicesInput & { withLines?: boolean }): Promise<InvoiceListing> {
  const status: InvoiceStatusValue | null = input.status ?? null;
  const page = await q.pageForCustomer(customerId, { first: input.first, after: input.after, status, withLines: input.withLines });
  return { page, totalCount: () => q.countForCustomer(customerId, status) };
}

/** A page past the first (a cursor) or backward: these are keyset-paged in both directions, with an exact pageInfo. */
export const pagedBeyondFirst = (args: PageArgs): boolean => args.after != null || args.before != null || args.last != null;
