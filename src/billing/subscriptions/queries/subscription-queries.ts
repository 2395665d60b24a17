/**
 * Reads of mirrored subscriptions, built for DataLoader (one statement per batch of customers or
 * ids). Authorisation is the caller's job (src/auth/guard.ts). Newest first everywhere.
 */
import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { Subscription } from '../../../db/entities/subscription.js';
import { readPreparedRows, selectColumns, type PlainReader } from '../../../db/plain-rows.js';

export type SubscriptionStatusValue = Stripe.Subscription.Status;

/** The DataLoaders this module's service reads through (see src/graphql/loaders). */
export interface SubscriptionLoaderSet {
  subscriptionById: { load(id: string): Promise<Subscription | null>; prime(id: string, row: Subscription): unknown };
  /** All of a customer's subscriptions, newest first (filters are applied in memory: a customer has few). */
  subscriptionsByCustomerId: { load(customerId: string): Promise<Subscription[]> };
}

const NEWEST_FIRST = { createdAt: 'desc', id: 'desc' } as const;

/**
 * The columns reads select: all but `raw` (the stored Stripe object), of which only `items` is read
 * (MRR and plans of prices outside the catalog), so `raw` holds just that.
 */
export const readColumns = (em: PlainReader) => `${selectColumns(em, Subscription, ['raw'])}, jsonb_build_object('items', raw->'items') as raw`;

export async function batchSubscriptionsById(em: PlainReader, ids: readonly string[]): Promise<(Subscription | null)[]> {
  const rows = await readPreparedRows(em, Subscription, `select ${readColumns(em)} from subscriptions where id = any($1::text[])`, [ids]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id) ?? null);
}

export async function batchSubscriptionsByCustomer(em: PlainReader, customerIds: readonly string[]): Promise<Subscription[][]> {
  const rows = await readPreparedRows(
    em,
    Subscription,
    `select ${readColumns(em)} from subscriptions where customer_id = any($1::text[]) order by created_at desc, id desc`,
    [customerIds],
  );
  const byCustomer = new Map<string, Subscription[]>();
  for (const row of rows) {
    const list = byCustomer.get(row.customerId);
    if (list) list.push(row);
    else byCustomer.set(row.customerId, [row]);
  }
  return customerIds.map((id) => byCustomer.get(id) ?? []);
}

const matches = (statuses: readonly string[] | null | undefined) => (row: Subscription) =>
  !statuses || statuses.length === 0 || statuses.includes(row.status);

export class SubscriptionQueries {
  readonly #em: () => EntityManager;

  constructor(
    /** The request's EntityManager, or how to get it: forked only when a method needs it (the loaders need none). */
    em: EntityManager | (() => EntityManager),
    private readonly loaders: SubscriptionLoaderSet,
  ) {
    this.#em = typeof em === 'function' ? em : () => em;
  }

  private get em(): EntityManager {
    return this.#em();
  }

  byId(id: string): Promise<Subscription | null> {
    return this.loaders.subscriptionById.load(id);
  }

  /** A customer's subscriptions with one of `statuses` (all when null or empty), newest first. */
  async forCustomer(customerId: string, statuses?: readonly SubscriptionStatusValue[] | null): Promise<Subscription[]> {
    const rows = await this.loaders.subscriptionsByCustomerId.load(customerId);
    return rows.filter(matches(statuses));
  }

  /** Every customer's subscriptions (admins), newest first; at most `limit` of them when given. */
  async all(statuses?: readonly SubscriptionStatusValue[] | null, limit?: number): Promise<Subscription[]> {
    const rows = await this.em.find(Subscription, statuses && statuses.length > 0 ? { status: { $in: [...statuses] } } : {}, { orderBy: NEWEST_FIRST, ...(limit ? { limit } : {}) });
    for (const row of rows) this.loaders.subscriptionById.prime(row.id, row);
    return rows;
  }
}
