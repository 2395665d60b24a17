/**
 * Reads of mirrored customers. Authorisation is the caller's job (src/auth/guard.ts); this module
 * only finds rows. Deleted Stripe customers are invisible.
 */
import DataLoader from 'dataloader';
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { Customer } from '../../db/entities/customer.js';
import { readPreparedRows, selectColumns, type PlainReader } from '../../db/plain-rows.js';
import type { CustomerRef } from '../../auth/guard.js';
import {
  batchCustomerReads,
  customerReadCacheKey,
  findCustomerWith,
  type CustomerRead,
  type CustomerReadKey,
  type CustomerReadLoaders,
  type CustomerReadWants,
  type CustomerRow,
} from './customer-read.js';
import { afterPosition, decodeCursor, encodeCursor, pageSize } from './keyset-cursor.js';

const READ_OMIT = ['raw'] as const;

export interface CustomerLoaders {
  customerById: DataLoader<string, CustomerRow | null>;
  customerByExternalId: DataLoader<string, CustomerRow | null>;
  /** A customer with its subscriptions and an invoice page, in one statement (see customer-read.ts). */
  customerReads: DataLoader<CustomerReadKey, CustomerRead, string>;
}

export function createCustomerLoaders(em: PlainReader): CustomerLoaders {
  return {
    customerById: new DataLoader(async (ids: readonly string[]) => {
      const rows = await readPreparedRows(em, Customer, `select ${selectColumns(em, Customer, READ_OMIT)} from customers where id = any($1::text[]) and deleted = false`, [ids], READ_OMIT);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    customerByExternalId: new DataLoader(async (ids: readonly string[]) => {
      const rows = await readPreparedRows(em, Customer, `select ${selectColumns(em, Customer, READ_OMIT)} from customers where external_id = any($1::text[]) and deleted = false`, [ids], READ_OMIT);
      const byExt = new Map(rows.map((r) => [r.externalId!, r]));
      return ids.map((id) => byExt.get(id) ?? null);
    }),
    customerReads: new DataLoader((keys: readonly CustomerReadKey[]) => batchCustomerReads(em, keys), { cacheKeyFn: customerReadCacheKey }),
  };
}

export interface CustomerPage {
  edges: { cursor: string; node: Customer }[];
  hasNextPage: boolean;
  endCursor: string | null;
  totalCount: number;
}

export interface ListCustomersInput {
  first?: number | null;
  after?: string | null;
  /** Exact match, as Stripe's customer list filter. */
  email?: string | null;
}

export class CustomerService {
  readonly #em: () => EntityManager;

  constructor(
    /** The request's EntityManager, or how to get it: forked only when a method needs it (the loaders need none). */
    em: EntityManager | (() => EntityManager),
    private readonly loaders: CustomerLoaders & Partial<Pick<CustomerReadLoaders, 'subscriptionsByCustomerId' | 'invoicePageRows'>>,
  ) {
    this.#em = typeof em === 'function' ? em : () => em;
  }

  private get em(): EntityManager {
    return this.#em();
  }

  find(ref: CustomerRef): Promise<CustomerRow | null> {
    return ref.kind === 'stripeId' ? this.loaders.customerById.load(ref.id) : this.loaders.customerByExternalId.load(ref.externalId);
  }

  /** `find`, reading `wants` (subscriptions, an invoice page) in the same statement for the reads that follow. */
  findWith(ref: CustomerRef, wants: CustomerReadWants): Promise<CustomerRow | null> {
    const { subscriptionsByCustomerId, invoicePageRows } = this.loaders;
    if (!subscriptionsByCustomerId || !invoicePageRows) return this.find(ref);
    return findCustomerWith({ ...this.loaders, subscriptionsByCustomerId, invoicePageRows }, ref, wants);
  }

  /** Newest first; stable opaque cursors; totalCount ignores the cursor. */
  async list(input: ListCustomersInput): Promise<CustomerPage> {
    const first = pageSize(input.first);
    const base: FilterQuery<Customer> = { deleted: false, ...(input.email ? { email: input.email } : {}) };
    const where: FilterQuery<Customer> = input.after ? { $and: [base, afterPosition(decodeCursor(input.after))] } : base;
    const [rows, totalCount] = await Promise.all([
      this.em.find(Customer, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 }),
      this.em.count(Customer, base),
    ]);
    const page = rows.slice(0, first);
    for (const row of page) this.loaders.customerById.prime(row.id, row);
    const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
    return { edges, hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null, totalCount };
  }
}
