/**
 * A customer together with what a read of it asks for — its subscriptions, one page of its invoices
 * (with their lines) — in one statement: the related rows come back as JSON arrays beside the
 * customer's columns (as tuples, see `jsonTuple`), so the read is one round trip instead of the customer's, then the others'.
 * Batched like every loader: the customers of one batch that ask for the same things share one
 * statement. The caller primes the request's other loaders with the parts (see `findCustomerWith`),
 * so the field resolvers find them there. Authorisation is the caller's job.
 */
import type DataLoader from 'dataloader';
import { Customer } from '../../db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { Subscription } from '../../db/entities/subscription.js';
import { jsonTuple, queryPrepared, selectColumns, selectJsonColumns, toPlainRows, tuplesToPlainRows, tupleWidth, type PlainReader } from '../../db/plain-rows.js';
import type { CustomerRef } from '../../auth/guard.js';
import type { InvoicePageKey, InvoicePageRows, InvoiceRow } from '../invoices/invoice-queries.js';
import { encodeCursor } from './keyset-cursor.js';

/** A mirrored customer as reads see it: every column but `raw` (the stored Stripe object, which no read needs). */
export type CustomerRow = Omit<Customer, 'raw'>;

/** What to read with the customer. */
export interface CustomerReadWants {
  subscriptions: boolean;
  /** One page of invoices (its shape; the customer's id is filled in). */
  invoices: Omit<InvoicePageKey, 'customerId'> | null;
}

export interface CustomerReadKey extends CustomerReadWants {
  by: 'id' | 'externalId';
  value: string;
}

export interface CustomerRead {
  customer: CustomerRow | null;
  /** Newest first; null when not asked for. */
  subscriptions: Subscription[] | null;
  invoices: InvoicePageRows | null;
}

const pageShape = (p: CustomerReadWants['invoices']) => p && [p.status, p.first, p.after ? encodeCursor(p.after) : null, p.withLines === true];
const shapeKey = (k: CustomerReadKey) => JSON.stringify([k.by, k.subscriptions, pageShape(k.invoices)]);
export const customerReadCacheKey = (k: CustomerReadKey): string => JSON.stringify([k.by, k.value, k.subscriptions, pageShape(k.invoices)]);

const OMIT_RAW = ['raw'] as const;

export async function batchCustomerReads(em: PlainReader, keys: readonly CustomerReadKey[]): Promise<CustomerRead[]> {
  const groups = new Map<string, CustomerReadKey[]>();
  for (const k of keys) {
    const g = groups.get(shapeKey(k));
    if (g) g.push(k);
    else groups.set(shapeKey(k), [k]);
  }
  const byKey = new Map<string, CustomerRead>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const { by, subscriptions, invoices } = group[0]!;
      const values = [...new Set(group.map((k) => k.value))];
      const params: unknown[] = [values];
      const parts = [selectColumns(em, Customer, OMIT_RAW, 'c')];
      if (subscriptions) {
        // Of `raw`, only the items (MRR and plans of prices outside the catalog read them).
        parts.push(`(select coalesce(json_agg(${jsonTuple(em, Subscription, OMIT_RAW, 's', ['s.raw'])} order by s.created_at desc, s.id desc), '[]') from (
            select ${selectJsonColumns(em, Subscription, OMIT_RAW, 's')}, jsonb_build_object('items', s.raw->'items') as raw
            from subscriptions s where s.customer_id = c.id) s) as subscriptions_json`);
      }
      if (invoices) {
        let where = 'i.customer_id = c.id';
        if (invoices.status) {
          params.push(invoices.status);
          where += ` and i.status = $${params.length}`;
        }
        if (invoices.after) {
          params.push(invoices.after.createdAt.toISOString(), invoices.after.id);
          where += ` and (i.created_at, i.id) < ($${params.length - 1}::timestamptz, $${params.length})`;
        }
        params.push(invoices.first + 1);
        const lines = invoices.withLines
          ? `, (select json_agg(${jsonTuple(em, InvoiceLine, [], 'l')} order by l.position) from (select ${selectJsonColumns(em, InvoiceLine, [], 'l')} from invoice_lines l where l.invoice_id = i.id) l) as lines_json`
          : '';
        // The LATERAL-style page: the (customer_id, created_at, id) index backwards, first + 1 rows.
        parts.push(`(select coalesce(json_agg(${jsonTuple(em, Invoice, OMIT_RAW, 'p', invoices.withLines ? ['p.lines_json'] : [])} order by p.created_at desc, p.id desc), '[]') from (
            select ${selectJsonColumns(em, Invoice, OMIT_RAW, 'i')}${lines}
            from invoices i where ${where} order by i.created_at desc, i.id desc limit $${params.length}) p) as invoices_json`);
      }
      const column = by === 'id' ? 'id' : 'external_id';
      const rows = await queryPrepared(em, `select ${parts.join(', ')} from customers c where c.${column} = any($1::text[]) and c.deleted = false`, params);
      const customers = toPlainRows(em, Customer, rows, OMIT_RAW);
      customers.forEach((customer, i) => {
        const row = rows[i]!;
        const read: CustomerRead = { customer, subscriptions: null, invoices: null };
        if (subscriptions) {
          const tuples = row.subscriptions_json as unknown[][];
          const rawAt = tupleWidth(em, Subscription, OMIT_RAW);
          read.subscriptions = tuplesToPlainRows(em, Subscription, tuples, OMIT_RAW).map((s, j) => Object.assign(s, { raw: tuples[j]![rawAt] }) as Subscription);
        }
        if (invoices) {
          const tuples = row.invoices_json as unknown[][];
          const linesAt = tupleWidth(em, Invoice, OMIT_RAW);
          read.invoices = {
            rows: tuplesToPlainRows(em, Invoice, tuples, OMIT_RAW) as InvoiceRow[],
            lines: invoices.withLines ? tuples.map((t) => tuplesToPlainRows(em, InvoiceLine, (t[linesAt] as unknown[][] | null) ?? [])) : null,
          };
        }
        const value = by === 'id' ? customer.id : customer.externalId;
        byKey.set(customerReadCacheKey({ ...group[0]!, value: value ?? '' }), read);
      });
    }),
  );
  return keys.map((k) => byKey.get(customerReadCacheKey(k)) ?? { customer: null, subscriptions: null, invoices: null });
}

/** The loaders `findCustomerWith` reads through and primes. */
export interface CustomerReadLoaders {
  customerReads: DataLoader<CustomerReadKey, CustomerRead, string>;
  customerById: { prime(id: string, row: CustomerRow): unknown };
  customerByExternalId: { prime(id: string, row: CustomerRow): unknown };
  subscriptionsByCustomerId: { prime(id: string, rows: Subscription[]): unknown };
  invoicePageRows: { prime(key: InvoicePageKey, page: InvoicePageRows): unknown };
}

/** The customer `ref` names, reading `wants` in the same statement and leaving them in the loaders' caches. */
export async function findCustomerWith(loaders: CustomerReadLoaders, ref: CustomerRef, wants: CustomerReadWants): Promise<CustomerRow | null> {
  const key: CustomerReadKey = ref.kind === 'stripeId' ? { by: 'id', value: ref.id, ...wants } : { by: 'externalId', value: ref.externalId, ...wants };
  const { customer, subscriptions, invoices } = await loaders.customerReads.load(key);
  if (!customer) return null;
  loaders.customerById.prime(customer.id, customer);
  if (customer.externalId) loaders.customerByExternalId.prime(customer.externalId, customer);
  if (subscriptions) loaders.subscriptionsByCustomerId.prime(customer.id, subscriptions);
  if (invoices && wants.invoices) loaders.invoicePageRows.prime({ customerId: customer.id, ...wants.invoices }, invoices);
  return customer;
}
