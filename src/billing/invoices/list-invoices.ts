/**
 * `invoices(customerId, status, first, after)` and `Customer.invoices`: the page a caller may see.
 * No customerId: a customer token its own invoices, an admin everyone's; with one, admins any
 * customer's and a customer token only its own (see `resolveListScope`). A caller with no customer
 * yet gets an empty page, its arguments checked all the same.
 */
import type { Authentication } from '../../auth/guard.js';
import { resolveListScope, type CustomerFinder } from '../subscriptions/queries/list-scope.js';
import type { InvoicePage, InvoiceQueries, InvoiceRow, InvoiceStatusValue, ListInvoicesInput } from './invoice-queries.js';
import { invoicesPage, type KeysetPage, type PageArgs } from '../pages/list-pages.js';
import { emptyPage, validatePageArgs } from '../../db/keyset-page.js';
import type { PlainReader } from '../../db/plain-rows.js';

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

/** `listInvoices` for any page in either direction: the same scope, keyset-paged. */
export async function invoicesBothWays(
  deps: Pick<ListInvoicesDeps, 'customers'> & { em: PlainReader },
  auth: Authentication,
  input: PageArgs & { customerId?: string | null; status?: InvoiceStatusValue | null },
): Promise<KeysetPage<InvoiceRow>> {
  const { customerId, status, ...page } = input;
  const scope = await resolveListScope(auth, deps.customers, customerId);
  if (scope.kind === 'none') {
    // No customer yet: the arguments are still checked, so bad input is reported the same way.
    validatePageArgs(page, 'timestamp');
    return emptyPage();
  }
  return invoicesPage(deps.em, { customerId: scope.kind === 'customer' ? scope.customerId : null, status: status ?? null }, page);
}
