/**
 * Reads of mirrored invoices, built for DataLoader: every batch function answers many customers (or
 * invoices) with one SQL statement, so a list of N customers costs the same number of statements as
 * one. Authorisation is the caller's job (src/auth/guard.ts); this module only finds rows.
 *
 * Order is newest first, `(created_at desc, id desc)`, and cursors name the last row seen (see
 * `../customers/keyset-cursor.ts`), so pages stay stable while invoices are added.
 */
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import { placeholders, queryPrepared, readPreparedRows, selectColumns, toPlainRows, type PlainReader } from '../../db/plain-rows.js';
import { afterPosition, decodeCursor, encodeCursor, pageSize, type KeysetPosition } from '../customers/keyset-cursor.js';

export type InvoiceStatusValue = Stripe.Invoice.Status;

/**
 * A mirrored invoice as reads see it: every column but `raw` (the stored Stripe object, by far the
 * widest column; nothing answered from the mirror reads it, and parsing it was a visible share of
 * a customer read's CPU, bench `read`).
 */
export type InvoiceRow = Omit<Invoice, 'raw'>;
const READ_OMIT = ['raw'] as const;

/** One customer's page: up to `first` invoices after `after`, with `status` when given. */
export interface InvoicePageKey {
  customerId: string;
  status: InvoiceStatusValue | null;
  first: number;
  after: KeysetPosition | null;
  /** Also each invoice's lines (the selection asks for them). */
  withLines?: boolean;
}

export interface InvoiceCountKey {
  customerId: string;
  status: InvoiceStatusValue | null;
}

export interface InvoicePage {
  edges: { cursor: string; node: InvoiceRow }[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ListInvoicesInput {
  first?: number | null;
  after?: string | null;
  status?: InvoiceStatusValue | null;
}

/** The DataLoaders this module's service reads through (see src/graphql/loaders). */
export interface InvoiceLoaderSet {
  invoiceById: { load(id: string): Promise<InvoiceRow | null>; prime(id: string, row: InvoiceRow): unknown };
  /** `first + 1` rows per key, newest first (the extra row tells whether there is a next page). */
  invoicePageRows: { load(key: InvoicePageKey): Promise<InvoicePageRows> };
  /** Primed with the lines a page brought along. */
  invoiceLinesByInvoiceId: { prime(id: string, lines: InvoiceLine[]): unknown };
  invoiceCount: { load(key: InvoiceCountKey): Promise<number> };
}

export const invoicePageCacheKey = (k: InvoicePageKey): string =>
  JSON.stringify([k.customerId, k.status, k.first, k.after ? encodeCursor(k.after) : null, k.withLines === true]);
export const invoiceCountCacheKey = (k: InvoiceCountKey): string => JSON.stringify([k.customerId, k.status]);

function groupBy<K, V>(items: readonly V[], keyOf: (v: V) => K): Map<K, V[]> {
  const out = new Map<K, V[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** A page's rows, and each row's lines when the key asked for them (same order). */
export interface InvoicePageRows {
  rows: InvoiceRow[];
  lines: InvoiceLine[][] | null;
}

/**
 * `first + 1` invoices per key (and their lines with `withLines`). Keys sharing (status, first,
 * after, withLines) — e.g. `Customer.invoices(first: 5)` under every customer of a list — are
 * answered by one prepared statement: a LATERAL join walks each customer's
 * `(customer_id, created_at, id)` index backwards and stops after `first + 1` rows, however many
 * invoices the customer has. With `withLines`, each invoice's lines come along as one JSON array, so
 * a page with lines costs one statement instead of two dependent ones.
 */
export async function batchInvoicePageRows(em: PlainReader, keys: readonly InvoicePageKey[]): Promise<InvoicePageRows[]> {
  const groups = groupBy(keys, (k) => JSON.stringify([k.status, k.first, k.after ? encodeCursor(k.after) : null, k.withLines === true]));
  const byKey = new Map<string, InvoicePageRows>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const { status, first, after, withLines } = group[0]!;
      const customerIds = [...new Set(group.map((k) => k.customerId))];
      const params: unknown[] = [customerIds];
      let where = 'i.customer_id = c.id';
      if (status) {
        params.push(status);
        where += ` and i.status = $${params.length}`;
      }
      if (after) {
        params.push(after.createdAt.toISOString(), after.id);
        where += ` and (i.created_at, i.id) < ($${params.length - 1}::timestamptz, $${params.length})`;
      }
      params.push(first + 1);
      const columns = selectColumns(em, Invoice, READ_OMIT, 'i');
      const lines = withLines ? ', (select json_agg(l order by l.position) from invoice_lines l where l.invoice_id = p.id) as lines_json' : '';
      const rows = await queryPrepared(
        em,
        `select p.*${lines} from unnest($1::text[]) with ordinality as c(id, n)
         cross join lateral (select ${columns} from invoices i where ${where} order by i.created_at desc, i.id desc limit $${params.length}) p
         order by c.n, p.created_at desc, p.id desc`,
        params,
      );
      const invoices = toPlainRows(em, Invoice, rows, READ_OMIT);
      const perCustomer = new Map<string, InvoicePageRows>();
      invoices.forEach((invoice, i) => {
        let page = perCustomer.get(invoice.customerId);
        if (!page) perCustomer.set(invoice.customerId, (page = { rows: [], lines: withLines ? [] : null }));
        page.rows.push(invoice);
        page.lines?.push(toPlainRows(em, InvoiceLine, (rows[i]!.lines_json as Record<string, unknown>[] | null) ?? []));
      });
      for (const k of group) byKey.set(invoicePageCacheKey(k), perCustomer.get(k.customerId) ?? { rows: [], lines: withLines ? [] : null });
    }),
  );
  return keys.map((k) => byKey.get(invoicePageCacheKey(k)) ?? { rows: [], lines: null });
}

/** Invoices per (customer, status): one `group by` statement per status among the keys. */
export async function batchInvoiceCounts(em: PlainReader, keys: readonly InvoiceCountKey[]): Promise<number[]> {
  const groups = groupBy(keys, (k) => k.status ?? '');
  const counts = new Map<string, number>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const status = group[0]!.status;
      const customerIds = [...new Set(group.map((k) => k.customerId))];
      const rows = await em.execute<{ customer_id: string; n: string | number }[]>(
        `select customer_id, count(*) as n from invoices
         where customer_id in (${placeholders(customerIds.length)})${status ? ' and status = ?' : ''}
         group by customer_id`,
        status ? [...customerIds, status] : customerIds,
      );
      // count(*) is a bigint: pg returns it as a string.
      const byCustomer = new Map(rows.map((r) => [r.customer_id, Number(r.n)]));
      for (const k of group) counts.set(invoiceCountCacheKey(k), byCustomer.get(k.customerId) ?? 0);
    }),
  );
  return keys.map((k) => counts.get(invoiceCountCacheKey(k)) ?? 0);
}

export async function batchInvoicesById(em: PlainReader, ids: readonly string[]): Promise<(InvoiceRow | null)[]> {
  const rows = await readPreparedRows(em, Invoice, `select ${selectColumns(em, Invoice, READ_OMIT)} from invoices where id = any($1::text[])`, [ids], READ_OMIT);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Each invoice's lines in Stripe's order. */
export async function batchInvoiceLines(em: PlainReader, invoiceIds: readonly string[]): Promise<InvoiceLine[][]> {
  const rows = await readPreparedRows(em, InvoiceLine, 'select * from invoice_lines where invoice_id = any($1::text[]) order by invoice_id asc, position asc', [invoiceIds]);
  const byInvoice = groupBy(rows, (r) => r.invoiceId);
  return invoiceIds.map((id) => byInvoice.get(id) ?? []);
}

/** A page's key but the customer: checks `first` and `after` (BAD_USER_INPUT naming the field). */
export function invoicePageShape(input: ListInvoicesInput & { withLines?: boolean }): Omit<InvoicePageKey, 'customerId'> {
  return {
    status: input.status ?? null,
    first: pageSize(input.first),
    after: input.after ? decodeCursor(input.after) : null,
    withLines: input.withLines === true,
  };
}

function toPage(rows: InvoiceRow[], first: number): InvoicePage {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
  return { edges, hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null };
}

export class InvoiceQueries {
  readonly #em: () => EntityManager;

  constructor(
    /** The request's EntityManager, or how to get it: forked only when a method needs it (the loaders need none). */
    em: EntityManager | (() => EntityManager),
    private readonly loaders: InvoiceLoaderSet,
  ) {
    this.#em = typeof em === 'function' ? em : () => em;
  }

  private get em(): EntityManager {
    return this.#em();
  }

  byId(id: string): Promise<InvoiceRow | null> {
    return this.loaders.invoiceById.load(id);
  }

  /** One customer's invoices, newest first (batched with other customers' pages of the same shape). */
  async pageForCustomer(customerId: string, input: ListInvoicesInput & { withLines?: boolean }): Promise<InvoicePage> {
    const shape = invoicePageShape(input);
    const { rows, lines } = await this.loaders.invoicePageRows.load({ customerId, ...shape });
    rows.forEach((row, i) => {
      this.loaders.invoiceById.prime(row.id, row);
      if (lines) this.loaders.invoiceLinesByInvoiceId.prime(row.id, lines[i]!);
    });
    return toPage(rows, shape.first);
  }

  countForCustomer(customerId: string, status: InvoiceStatusValue | null | undefined): Promise<number> {
    return this.loaders.invoiceCount.load({ customerId, status: status ?? null });
  }

  /** Every customer's invoices (admins), newest first. */
  async pageAll(input: ListInvoicesInput): Promise<InvoicePage> {
    const first = pageSize(input.first);
    const base: FilterQuery<Invoice> = input.status ? { status: input.status } : {};
    const where: FilterQuery<Invoice> = input.after ? { $and: [base, afterPosition(decodeCursor(input.after))] } : base;
    const rows = await this.em.find(Invoice, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 });
    for (const row of rows) this.loaders.invoiceById.prime(row.id, row);
    return toPage(rows, first);
  }

  countAll(status: InvoiceStatusValue | null | undefined): Promise<number> {
    return this.em.count(Invoice, status ? { status } : {});
  }
}
