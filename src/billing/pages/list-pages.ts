/**
 * Every list of the API that can grow, as keyset pages read from the mirror (see
 * src/db/keyset-page.ts): customers, invoices, invoice lines, subscriptions, API keys and parked
 * webhook events. Each walks an index in its list's order. Authorisation is the caller's job.
 */
import { Customer } from '../../db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { Subscription } from '../../db/entities/subscription.js';
import { keysetPage, type KeysetPage, type PageArgs } from '../../db/keyset-page.js';
import { selectColumns, toPlainRows, type PlainReader } from '../../db/plain-rows.js';
import { API_KEY_COLUMNS, toApiKeyView, type ApiKeyRow, type ApiKeyView } from '../api-keys/key-rows.js';
import type { InvoiceRow, InvoiceStatusValue } from '../invoices/invoice-queries.js';
import type { ParkedEvent } from '../../stripe/webhooks/inbox.js';
import { readColumns as subscriptionColumns, type SubscriptionStatusValue } from '../subscriptions/queries/subscription-queries.js';

export type { KeysetPage, PageArgs } from '../../db/keyset-page.js';

/** Builds a `where` from optional conditions, numbering `$n` as values are added. */
function filter() {
  const params: unknown[] = [];
  const conds: string[] = [];
  return {
    add(cond: (p: string) => string, value: unknown) {
      params.push(value);
      conds.push(cond(`$${params.length}`));
    },
    get where() {
      return conds.join(' and ');
    },
    params,
  };
}

/** Customers, newest first; `email` an exact match (admins). */
export function customersPage(em: PlainReader, opts: { email?: string | null }, args: PageArgs): Promise<KeysetPage<Omit<Customer, 'raw'>>> {
  const f = filter();
  if (opts.email) f.add((p) => `email = ${p}`, opts.email);
  return keysetPage(em, {
    from: 'customers',
    where: f.where,
    params: f.params,
    select: selectColumns(em, Customer, ['raw']),
    sort: 'created_at',
    sortKind: 'timestamp',
    direction: 'desc',
    legacyCursor: true,
    map: (rows) => toPlainRows(em, Customer, rows, ['raw']),
  }, args);
}

/** Invoices, newest first: one customer's, or every customer's when `customerId` is null (admins). */
export function invoicesPage(em: PlainReader, opts: { customerId: string | null; status?: InvoiceStatusValue | null }, args: PageArgs): Promise<KeysetPage<InvoiceRow>> {
  const f = filter();
  if (opts.customerId) f.add((p) => `customer_id = ${p}`, opts.customerId);
  if (opts.status) f.add((p) => `status = ${p}`, opts.status);
  return keysetPage(em, {
    from: 'invoices',
    where: f.where,
    params: f.params,
    select: selectColumns(em, Invoice, ['raw']),
    sort: 'created_at',
    sortKind: 'timestamp',
    direction: 'desc',
    legacyCursor: true,
    map: (rows) => toPlainRows(em, Invoice, rows, ['raw']),
  }, args);
}

/** One invoice's lines in Stripe's order. */
export function invoiceLinesPage(em: PlainReader, invoiceId: string, args: PageArgs): Promise<KeysetPage<InvoiceLine>> {
  return keysetPage(em, {
    from: 'invoice_lines',
    where: 'invoice_id = $1',
    params: [invoiceId],
    select: '*',
    sort: 'position',
    sortKind: 'integer',
    direction: 'asc',
    map: (rows) => toPlainRows(em, InvoiceLine, rows),
  }, args);
}

/** Subscriptions, newest first: one customer's, or every customer's when `customerId` is null (admins). */
export function subscriptionsPage(
  em: PlainReader,
  opts: { customerId: string | null; statuses?: readonly SubscriptionStatusValue[] | null },
  args: PageArgs,
): Promise<KeysetPage<Subscription>> {
  const f = filter();
  if (opts.customerId) f.add((p) => `customer_id = ${p}`, opts.customerId);
  if (opts.statuses && opts.statuses.length > 0) f.add((p) => `status = any(${p}::text[])`, [...opts.statuses]);
  return keysetPage(em, {
    from: 'subscriptions',
    where: f.where,
    params: f.params,
    select: subscriptionColumns(em),
    sort: 'created_at',
    sortKind: 'timestamp',
    direction: 'desc',
    legacyCursor: true,
    map: (rows) => toPlainRows(em, Subscription, rows) as Subscription[],
  }, args);
}

/** A customer's API keys, oldest first, revoked ones included (as `Customer.apiKeys`). */
export function apiKeysPage(em: PlainReader, customerId: string, args: PageArgs): Promise<KeysetPage<ApiKeyView>> {
  return keysetPage(em, {
    from: 'api_keys',
    where: 'customer_id = $1',
    params: [customerId],
    select: API_KEY_COLUMNS,
    sort: 'created_at',
    sortKind: 'timestamp',
    direction: 'asc',
    map: (rows) => (rows as unknown as ApiKeyRow[]).map(toApiKeyView),
  }, args);
}

/** A parked event as the inbox lists it. */
export type ParkedEventView = ParkedEvent;

const fromEpoch = (v: unknown): Date => new Date(Number(v) * 1000);

/** Webhook events parked after repeated failures, newest first by receipt (admins). */
export function parkedEventsPage(em: PlainReader, args: PageArgs, onlyId?: string): Promise<KeysetPage<ParkedEventView>> {
  return keysetPage(em, {
    from: 'webhook_events',
    where: onlyId ? `status = 'parked' and id = $1` : `status = 'parked'`,
    params: onlyId ? [onlyId] : [],
    select: 'id, type, object_id, attempts, last_error, extract(epoch from stripe_created_at)::float8 as created_epoch, extract(epoch from received_at)::float8 as received_epoch',
    sort: 'received_at',
    sortKind: 'timestamp',
    direction: 'desc',
    map: (rows) =>
      rows.map((r) => ({
        id: String(r.id),
        type: String(r.type),
        objectId: (r.object_id as string | null) ?? null,
        attempts: Number(r.attempts),
        lastError: (r.last_error as string | null) ?? null,
        stripeCreatedAt: fromEpoch(r.created_epoch),
        receivedAt: fromEpoch(r.received_epoch),
      })),
  }, args);
}
