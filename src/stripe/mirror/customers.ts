/**
 * Customers → `customers`. The gateway writes the caller's JWT `sub` into the Stripe customer's
 * metadata under EXTERNAL_ID_METADATA_KEY when it creates one; that is where `external_id` comes from.
 */
import { raw, type EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { Customer } from '../../db/entities/customer.js';
import { toStorableText } from '../../text/storable.js';
import { at, idOf, metadataOf, plain, rawCopy, type MirrorWriteOptions } from './common.js';
import { flushMirrorRows, keep, mirrorBatch, upsertManyRows } from './batch.js';
import { upsertRows } from './bound-sql.js';

/** Expandable fields stored as ids, and fields Stripe shows only when expanded (dropped), in `raw`. */
const CUSTOMER_COLLAPSED = ['test_clock', 'default_source'] as const;
const CUSTOMER_DROPPED = ['subscriptions', 'sources', 'tax_ids', 'cash_balance', 'invoice_credit_balance'] as const;

/** Metadata key of the product user's id (the JWT `sub`) on a Stripe customer. */
export const EXTERNAL_ID_METADATA_KEY = 'external_id';

export interface CustomerWriteOptions extends MirrorWriteOptions {
  /**
   * The customer is deleted even though the object is a full copy (a `customer.deleted` event carries
   * the customer as it was, without `deleted: true`).
   */
  deleted?: boolean;
}

/** The external id stored in a customer's metadata, or null (blank counts as none). */
export function externalIdOf(customer: Pick<Stripe.Customer, 'metadata'>): string | null {
  const v = customer.metadata?.[EXTERNAL_ID_METADATA_KEY];
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

const isDeletedStub = (c: Stripe.Customer | Stripe.DeletedCustomer): c is Stripe.DeletedCustomer => c.deleted === true;

/** `raw` as the writer stores it for this copy (what a tie between two copies compares). */
export function customerRaw(c: Stripe.Customer | Stripe.DeletedCustomer): unknown {
  c = toStorableText(c);
  return isDeletedStub(c) ? plain(c) : rawCopy(c, CUSTOMER_COLLAPSED, CUSTOMER_DROPPED);
}

/**
 * Row data for a full customer. A deleted customer gives up its external id, so the same product user
 * can get a new customer (the column is unique); the id stays readable in `raw.metadata`.
 */
export function customerRow(c: Stripe.Customer, opts: CustomerWriteOptions = {}, now = new Date()) {
  const deleted = opts.deleted === true;
  return {
    id: c.id,
    externalId: deleted ? null : externalIdOf(c),
    email: c.email ?? null,
    name: c.name ?? null,
    metadata: metadataOf(c.metadata),
    defaultPaymentMethod: idOf(c.invoice_settings?.default_payment_method),
    testClock: idOf(c.test_clock),
    deleted,
    createdAt: at(c.created),
    raw: rawCopy(c, CUSTOMER_COLLAPSED, CUSTOMER_DROPPED) as Stripe.Customer | Stripe.DeletedCustomer,
    lastEventAt: opts.lastEventAt ?? null,
    syncedAt: now,
  };
}

/**
 * Inserts or updates one customer in one statement.
 * - A `DeletedCustomer` stub (`{ id, deleted: true }`, what `customers.del` returns) only marks the row
 *   deleted (the other columns keep the last full copy); with no row yet it leaves a tombstone.
 * - `external_id` is claimed only if no other row holds it: two Stripe customers with the same
 *   `metadata.external_id` (one made outside the gateway, say) never break the unique constraint;
 *   the first one mirrored keeps it, the other is stored with `external_id` null.
 */
export async function upsertCustomer(
  em: EntityManager,
  customer: Stripe.Customer | Stripe.DeletedCustomer,
  opts: CustomerWriteOptions = {},
): Promise<Customer> {
  customer = toStorableText(customer);
  const now = new Date();
  if (mirrorBatch(em)) return batchUpsert(em, customer, opts, now);
  if (isDeletedStub(customer)) {
    const when = opts.lastEventAt ?? now;
    return em.upsert(
      Customer,
      {
        id: customer.id,
        externalId: null,
        deleted: true,
        metadata: {},
        createdAt: when,
        raw: plain(customer),
        lastEventAt: opts.lastEventAt ?? null,
        syncedAt: now,
      },
      { onConflictMergeFields: ['externalId', 'deleted', 'raw', 'lastEventAt', 'syncedAt'] },
    );
  }
  const row = customerRow(customer, opts, now);
  if (row.externalId === null) return em.upsert(Customer, row);
  // Two first writes racing (the same new customer, or two customers with one external id) would meet
  // on the unique index on external_id, which `on conflict (id)` does not arbitrate: PostgreSQL then
  // fails one of them (a unique violation, or a deadlock between the two speculative inserts). On its
  // own, the write takes a transaction-scoped advisory lock on the external id so they take turns; the
  // second sees the first's committed row and claims nothing it does not own. Inside a caller's
  // transaction it takes no lock (that transaction may already hold row locks another writer waits
  // on, and lock order could not be kept): a conflict there aborts the caller, which retries.
  if (em.isInTransaction()) return claimingUpsert(em, row);
  return em.transactional(async (tx) => {
    await (tx as SqlEntityManager).execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`customers.external_id:${row.externalId}`], 'run');
    return claimingUpsert(tx, row);
  });
}

/**
 * `upsertCustomer` inside a mirror batch (./batch.ts): the row kept for one statement for the batch's
 * customers (`keep`), `external_id` claimed there as `claimingUpsert` claims it (inside a transaction,
 * so without the advisory lock; two rows of one statement claiming the same id fail the batch, whose
 * events are then taken one by one). A deleted stub, which merges fewer columns, is written at once
 * after the kept rows. Returns a reference: nothing in a batch reads the entity.
 */
async function batchUpsert(em: EntityManager, customer: Stripe.Customer | Stripe.DeletedCustomer, opts: CustomerWriteOptions, now: Date): Promise<Customer> {
  if (isDeletedStub(customer)) {
    const when = opts.lastEventAt ?? now;
    const row = { id: customer.id, externalId: null, deleted: true, metadata: {}, createdAt: when, raw: plain(customer), lastEventAt: opts.lastEventAt ?? null, syncedAt: now };
    await flushMirrorRows(em);
    await upsertRows(em, Customer, 'customers', [row], { mergeKeys: ['externalId', 'deleted', 'raw', 'lastEventAt', 'syncedAt'] });
    return em.getReference(Customer, customer.id);
  }
  const row = customerRow(customer, opts, now);
  keep(em, 'customers', row.id, row, writeCustomerRows);
  return em.getReference(Customer, row.id);
}

const claimExternalId = (p: string, id: string) => `case when exists (select 1 from "customers" c where c."external_id" = ${p} and c."id" <> ${id}) then null else ${p} end`;

/** A batch's kept customer rows: one upsert, each row claiming its external id. */
const writeCustomerRows = (em: EntityManager, rows: CustomerRowData[]) => upsertManyRows(em, Customer, 'customers', rows, { valueSql: { externalId: claimExternalId } });

type CustomerRowData = ReturnType<typeof customerRow>;

/** One statement: the row, claiming `external_id` only if no other row holds it. */
async function claimingUpsert(em: EntityManager, row: CustomerRowData): Promise<Customer> {
  const claim = raw(`case when exists (select 1 from "customers" c where c."external_id" = ? and c."id" <> ?) then null else ? end`, [
    row.externalId,
    row.id,
    row.externalId,
  ]);
  // The query builder (not em.upsert) so the claimed value comes back in `returning`.
  const returned = await (em as SqlEntityManager)
    .createQueryBuilder(Customer)
    .insert({ ...row, externalId: claim as unknown as string })
    .onConflict('id')
    .merge()
    .returning([...CUSTOMER_FIELDS])
    .execute('get');
  return em.map(Customer, returned as Record<string, unknown>);
}


const CUSTOMER_FIELDS = [
  'id',
  'externalId',
  'email',
  'name',
  'metadata',
  'defaultPaymentMethod',
  'testClock',
  'deleted',
  'createdAt',
  'raw',
  'lastEventAt',
  'syncedAt',
] as const satisfies readonly (keyof Customer)[];
