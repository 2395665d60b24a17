/**
 * A customer together with what a read of it asks for — its subscriptions, one page of its invoices
 * (with their lines) — in one statement: the related rows come back as JSON arrays beside the
 * customer's columns (as tuples, see `jsonTuple`), so the read is one round trip instead of the customer's, then the others'.
 * Batched like every loader: the customers of one batch that ask for the same things share one
 * statement. The caller primes the request's other loaders with the parts (see `findCustomerWith`),
 * so the field resolvers find them there. Authorisation is the caller's job.
 */
import type DataLoader from 'dataloader';
import type { EntityClass } from '@mikro-orm/core';
import { Customer } from '../../db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { Subscription } from '../../db/entities/subscription.js';
import { jsonTuple, queryPrepared, selectColumns, toPlainRows, tuplesToPlainRows, tupleWidth, type Columns, type PlainReader } from '../../db/plain-rows.js';
import type { CustomerRef } from '../../auth/guard.js';
import type { InvoicePageKey, InvoicePageRows, InvoiceRow } from '../invoices/invoice-queries.js';
import { encodeCursor } from './keyset-cursor.js';

/** A mirrored customer as reads see it: every column but `raw` (the stored Stripe object, which no read needs). */
export type CustomerRow = Omit<Customer, 'raw'>;

/**
 * Which columns of the related rows a read needs (null: every column but `raw`): the rows are left
 * in the request's loaders, so these are the columns any reader of the request may use (the GraphQL
 * layer works them out from the operation). Columns left out are undefined in the rows.
 */
export interface CustomerReadColumns {
  subscriptions: readonly (keyof Subscription & string)[] | null;
  /**
   * `raw.items` of the subscriptions (all that is read of `raw`: MRR, and plans of prices outside
   * the catalog): always, only for rows without a catalog plan, or never.
   */
  subscriptionItems: 'always' | 'withoutPlan' | 'never';
  invoices: readonly (keyof Invoice & string)[] | null;
  lines: readonly (keyof InvoiceLine & string)[] | null;
}

/** Every column (but `raw`), and the subscriptions' items. */
export const ALL_READ_COLUMNS: CustomerReadColumns = { subscriptions: null, subscriptionItems: 'always', invoices: null, lines: null };

/** What to read with the customer. */
export interface CustomerReadWants {
  subscriptions: boolean;
  /** One page of invoices (its shape; the customer's id is filled in). */
  invoices: Omit<InvoicePageKey, 'customerId'> | null;
  /** Default: ALL_READ_COLUMNS. */
  columns?: CustomerReadColumns;
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
/** One key per columns object (the GraphQL layer hands the same object for every request of an operation). */
const columnsKeys = new WeakMap<CustomerReadColumns, string>();
const columnsKey = (c: CustomerReadColumns | undefined) => {
  if (!c) return null;
  let key = columnsKeys.get(c);
  if (key === undefined) columnsKeys.set(c, (key = JSON.stringify([c.subscriptions, c.subscriptionItems, c.invoices, c.lines])));
  return key;
};
const shapeKey = (k: CustomerReadKey) => JSON.stringify([k.by, k.subscriptions, pageShape(k.invoices), columnsKey(k.columns)]);
export const customerReadCacheKey = (k: CustomerReadKey): string => JSON.stringify([k.by, k.value, k.subscriptions, pageShape(k.invoices), columnsKey(k.columns)]);

const OMIT_RAW = ['raw'] as const;

/** The statement of one read shape: its text, and how to map its row. Built once per shape. */
interface ReadStatement {
  text: string;
  /** Parameters after `$1` (the customer keys), from the page's shape. */
  params(page: CustomerReadWants['invoices']): unknown[];
  subscriptions: ((row: Record<string, unknown>, customerId: string) => Subscription[]) | null;
  invoices: ((row: Record<string, unknown>, customerId: string) => InvoicePageRows) | null;
}

const statements = new Map<string, ReadStatement>();

/**
 * Related rows come back as JSON arrays of tuples built by `array(select … order by … limit …)`:
 * the subquery's order is the array's (no second sort, as `json_agg(… order by …)` would do), and the
 * page walks the (customer_id, created_at, id) index backwards for `first + 1` rows only. Each row's
 * `customerId` is the customer's own, not a selected column.
 */
function readStatement(em: PlainReader, key: CustomerReadKey): ReadStatement {
  const cacheKey = shapeKey(key);
  let statement = statements.get(cacheKey);
  if (statement) return statement;
  const { by, subscriptions, invoices } = key;
  const columns = key.columns ?? ALL_READ_COLUMNS;
  const parts = [selectColumns(em, Customer, OMIT_RAW, 'c')];
  let n = 1;
  let mapSubscriptions: ReadStatement['subscriptions'] = null;
  let mapInvoices: ReadStatement['invoices'] = null;
  if (subscriptions) {
    const subColumns: Columns<Subscription> = columns.subscriptions ? { only: columns.subscriptions.filter((p) => p !== 'customerId') } : withoutCustomerId(em, Subscription);
    const items =
      columns.subscriptionItems === 'always'
        ? `jsonb_build_object('items', s.raw->'items')`
        : columns.subscriptionItems === 'withoutPlan'
          ? `case when s.plan_id is null then jsonb_build_object('items', s.raw->'items') end`
          : 'null';
    parts.push(`array_to_json(array(select ${jsonTuple(em, Subscription, subColumns, 's', [items])}
            from subscriptions s where s.customer_id = c.id order by s.created_at desc, s.id desc)) as subscriptions_json`);
    const rawAt = tupleWidth(em, Subscription, subColumns);
    mapSubscriptions = (row, customerId) => {
      const tuples = row.subscriptions_json as unknown[][];
      return tuplesToPlainRows(em, Subscription, tuples, subColumns as typeof OMIT_RAW, { customerId }).map((s, j) => {
        const raw = tuples[j]![rawAt];
        return (raw === null ? s : Object.assign(s, { raw })) as Subscription;
      });
    };
  }
  const pageParams: ((page: NonNullable<CustomerReadWants['invoices']>) => unknown[])[] = [];
  if (invoices) {
    const invoiceColumns: Columns<Invoice> = columns.invoices ? { only: columns.invoices.filter((p) => p !== 'customerId') } : withoutCustomerId(em, Invoice);
    const lineColumns: Columns<InvoiceLine> = columns.lines ? { only: columns.lines } : [];
    let where = 'i.customer_id = c.id';
    if (invoices.status) {
      where += ` and i.status = $${++n}`;
      pageParams.push((p) => [p.status]);
    }
    if (invoices.after) {
      where += ` and (i.created_at, i.id) < ($${++n}::timestamptz, $${++n})`;
      pageParams.push((p) => [p.after!.createdAt.toISOString(), p.after!.id]);
    }
    const limit = `$${++n}`;
    pageParams.push((p) => [p.first + 1]);
    const lines = invoices.withLines
      ? [`array_to_json(array(select ${jsonTuple(em, InvoiceLine, lineColumns, 'l')} from invoice_lines l where l.invoice_id = i.id order by l.position))`]
      : [];
    parts.push(`array_to_json(array(select ${jsonTuple(em, Invoice, invoiceColumns, 'i', lines)}
            from invoices i where ${where} order by i.created_at desc, i.id desc limit ${limit})) as invoices_json`);
    const linesAt = tupleWidth(em, Invoice, invoiceColumns);
    const withLines = invoices.withLines === true;
    mapInvoices = (row, customerId) => {
      const tuples = row.invoices_json as unknown[][];
      return {
        rows: tuplesToPlainRows(em, Invoice, tuples, invoiceColumns as typeof OMIT_RAW, { customerId }) as InvoiceRow[],
        lines: withLines ? tuples.map((t) => tuplesToPlainRows(em, InvoiceLine, t[linesAt] as unknown[][], lineColumns as [])) : null,
      };
    };
  }
  const column = by === 'id' ? 'id' : 'external_id';
  statement = {
    text: `select ${parts.join(', ')} from customers c where c.${column} = any($1::text[]) and c.deleted = false`,
    params: (page) => (page ? pageParams.flatMap((f) => f(page)) : []),
    subscriptions: mapSubscriptions,
    invoices: mapInvoices,
  };
  statements.set(cacheKey, statement);
  return statement;
}

/** Every column but `raw` and `customerId` (which the nested rows take from their customer). */
function withoutCustomerId<T extends { customerId: string }>(em: PlainReader, entity: EntityClass<T>): Columns<T> {
  const omitted = new Set(['raw', 'customerId']);
  return { only: em.getMetadata().get(entity).props.filter((p) => p.persist !== false && !omitted.has(p.name)).map((p) => p.name as keyof T & string) };
}

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
      const first = group[0]!;
      const statement = readStatement(em, first);
      const values = [...new Set(group.map((k) => k.value))];
      const rows = await queryPrepared(em, statement.text, [values, ...statement.params(first.invoices)]);
      const customers = toPlainRows(em, Customer, rows, OMIT_RAW);
      customers.forEach((customer, i) => {
        const row = rows[i]!;
        const read: CustomerRead = {
          customer,
          subscriptions: statement.subscriptions ? statement.subscriptions(row, customer.id) : null,
          invoices: statement.invoices ? statement.invoices(row, customer.id) : null,
        };
        const value = first.by === 'id' ? customer.id : customer.externalId;
        byKey.set(customerReadCacheKey({ ...first, value: value ?? '' }), read);
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
