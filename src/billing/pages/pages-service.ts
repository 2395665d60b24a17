/**
 * The paged lists and the by-id reads of `node(id:)`, bound to the request's reader, so resolvers
 * call a service and never hold the database themselves. Authorisation stays with the caller, except
 * for `invoicesForViewer`, which applies the list scope of `invoices`.
 */
import type { Authentication } from '../../auth/guard.js';
import type { PlainReader } from '../../db/plain-rows.js';
import type { InvoiceStatusValue } from '../invoices/invoice-queries.js';
import type { SubscriptionStatusValue } from '../subscriptions/queries/subscription-queries.js';
import { resolveListScope, type CustomerFinder } from '../subscriptions/queries/list-scope.js';
import { emptyPage, validatePageArgs } from '../../db/keyset-page.js';
import { apiKeysPage, customersPage, invoiceLinesPage, invoicesPage, parkedEventsPage, subscriptionsPage, type KeysetPage, type PageArgs } from './list-pages.js';
import { apiKeyById, invoiceLineById, parkedEventById } from './node-reads.js';

export class PagesService {
  constructor(
    private readonly readerOf: () => PlainReader,
    private readonly customerFinder: CustomerFinder,
  ) {}

  customers(opts: { email?: string | null }, args: PageArgs) {
    return customersPage(this.readerOf(), opts, args);
  }

  invoices(opts: { customerId: string | null; status?: InvoiceStatusValue | null }, args: PageArgs) {
    return invoicesPage(this.readerOf(), opts, args);
  }

  /** `invoices` past its first page or backward: the caller's own, an admin's choice, or (admins) everyone's. */
  invoicesForViewer(auth: Authentication, { customerId, status, ...args }: PageArgs & { customerId?: string | null; status?: InvoiceStatusValue | null }) {
    return this.inViewerScope(auth, customerId, args, (scoped) => this.invoices({ customerId: scoped, status: status ?? null }, args));
  }

  invoiceLines(invoiceId: string, args: PageArgs) {
    return invoiceLinesPage(this.readerOf(), invoiceId, args);
  }

  subscriptions(opts: { customerId: string | null; statuses?: readonly SubscriptionStatusValue[] | null }, args: PageArgs) {
    return subscriptionsPage(this.readerOf(), opts, args);
  }

  /** `subscriptionsConnection`: the caller's own, an admin's choice, or (admins, no customerId) everyone's. */
  subscriptionsForViewer(auth: Authentication, opts: { customerId?: string | null; statuses?: readonly SubscriptionStatusValue[] | null }, args: PageArgs) {
    return this.inViewerScope(auth, opts.customerId, args, (scoped) => this.subscriptions({ customerId: scoped, statuses: opts.statuses }, args));
  }

  /**
   * A list's scope (see resolveListScope): `read` gets one customer's id, or null for everyone's (admins). A
   * caller with no customer yet gets an empty page, its arguments checked all the same.
   */
  private async inViewerScope<T>(auth: Authentication, customerId: string | null | undefined, args: PageArgs, read: (customerId: string | null) => Promise<KeysetPage<T>>): Promise<KeysetPage<T>> {
    const scope = await resolveListScope(auth, this.customerFinder, customerId);
    if (scope.kind === 'none') {
      validatePageArgs(args, 'timestamp');
      return emptyPage<T>();
    }
    return read(scope.kind === 'customer' ? scope.customerId : null);
  }

  apiKeys(customerId: string, args: PageArgs) {
    return apiKeysPage(this.readerOf(), customerId, args);
  }

  parkedEvents(args: PageArgs) {
    return parkedEventsPage(this.readerOf(), args);
  }

  invoiceLine(id: string) {
    return invoiceLineById(this.readerOf(), id);
  }

  apiKey(id: string) {
    return apiKeyById(this.readerOf(), id);
  }

  parkedEvent(id: string) {
    return parkedEventById(this.readerOf(), id);
  }
}
