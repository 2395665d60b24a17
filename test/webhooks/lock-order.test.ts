/**
 * What a worker's open transaction may hold up, on PostgreSQL (TEST_DATABASE_URL; PGlite has one
 * connection, so nothing there runs beside a transaction): a redelivery of an event being applied is
 * acknowledged without waiting for it, and an event that writes its missing customer takes that
 * customer's lock with its own object's, in the order every batch takes them, so two batches wait for
 * each other instead of deadlocking (which PostgreSQL resolves only after `deadlock_timeout`, a second);
 * a mutation's write-through takes the same locks, so it waits for a batch writing the same objects.
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeThrough } from '../../src/billing/subscriptions/write-through.js';
import { handleStripeEvents } from '../../src/stripe/sync/handlers.js';
import { storeEvents } from '../../src/stripe/webhooks/inbox.js';
import { eventually } from '../support/eventually.js';
import { fakeEvent, webhookGatewayForFile, type Gateway, type StripeSide } from './support.js';

const setup = webhookGatewayForFile();
let side: StripeSide;
let gw: Gateway;
beforeAll(() => ({ side, gw } = setup));

/** A transaction on a connection of its own, left open until `end`. */
async function openTransaction(): Promise<{ run(sql: string, params?: unknown[]): Promise<unknown[]>; pid: number; end(): Promise<void> }> {
  const pool = await (gw.orm.em.getConnection() as unknown as { getNativeClient(): Promise<import('pg').Pool> }).getNativeClient();
  const client = await pool.connect();
  await client.query('begin');
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  let ended = false;
  return {
    pid,
    run: async (sql, params = []) => (await client.query(sql, params)).rows,
    end: async () => {
      if (ended) return;
      ended = true;
      try {
        await client.query('commit');
      } finally {
        client.release();
      }
    },
  };
}

/** Advisory locks `pid` waits for. */
async function waitingLocks(pid: number): Promise<number> {
  const rows = await (gw.orm.em.fork() as SqlEntityManager).execute<{ n: number }[]>(
    `select count(*)::int as n from pg_locks where pid = ? and locktype = 'advisory' and not granted`,
    [pid],
  );
  return rows[0]!.n;
}

const lockSql = `select pg_advisory_xact_lock(hashtextextended($1, 0))`;

describe.skipIf(!process.env.TEST_DATABASE_URL)('what an open worker transaction holds up', () => {
  it('a redelivery arriving while its event is applied is acknowledged at once, with the new events beside it', async () => {
    const first = fakeEvent('customer.created', { id: `cus_lock_${Date.now()}`, object: 'customer' });
    expect(await storeEvents(gw.orm.em.fork(), [{ event: first }])).toEqual(['stored']);
    // A worker's batch marks the row processed in its transaction, and keeps it open while it applies the event.
    const worker = await openTransaction();
    try {
      await worker.run(`update webhook_events set status = 'processed', processed_at = now() where id = $1`, [first.id]);
      const fresh = fakeEvent('customer.created', { id: `cus_lock_new_${Date.now()}`, object: 'customer' });
      const stored = storeEvents(gw.orm.em.fork(), [{ event: first }, { event: fresh }]);
      // Settled while the worker's transaction is still open (the insert used to wait for it on the unique index).
      const outcome = await Promise.race([stored, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 10_000).unref())]);
      expect(outcome).toEqual(['duplicate', 'stored']);
    } finally {
      await worker.end();
    }
  });

  it('an event writing its missing customer holds that lock from its start: another batch waits rather than deadlocks', async () => {
    // A customer Stripe has and the mirror does not; an invoice of it arrives first.
    const customer = await side.stripe.customers.create({ email: 'lock-order@example.com' });
    const invoice = await side.stripe.invoices.create({ customer: customer.id });
    const event = fakeEvent('invoice.created', invoice as unknown as Record<string, unknown>);

    // Another batch holds the customer (an event about it) and will want the invoice next: sorted, as
    // every batch takes its locks.
    const other = await openTransaction();
    let otherError: unknown = null;
    let pid: number | undefined;
    const applying = gw.orm.em.fork().transactional(async (tx) => {
      pid = (await (tx as SqlEntityManager).execute<{ pid: number }[]>('select pg_backend_pid() as pid'))[0]!.pid;
      return handleStripeEvents(tx, [event], { stripe: side.stripe, catalog: side.catalog });
    });
    void applying.catch(() => undefined); // awaited below
    try {
      await other.run(lockSql, [customer.id]);
      // The invoice's batch waits for the customer; it must not hold the invoice meanwhile.
      await eventually('the invoice batch waiting for a lock', () => (pid === undefined ? Promise.resolve(0) : waitingLocks(pid)), (n) => n === 1);
      await other.run(lockSql, [invoice.id]).catch((err: unknown) => (otherError = err));
    } finally {
      await other.end();
    }
    expect(otherError).toBeNull();
    const [result] = await applying;
    expect(result).toMatchObject({ action: 'applied', objectId: invoice.id });
    // The customer was read from Stripe and written by the same batch.
    const rows = await (gw.orm.em.fork() as SqlEntityManager).execute<{ id: string }[]>(`select id from customers where id = ?`, [customer.id]);
    expect(rows).toHaveLength(1);
  });

  it("a mutation's write-through waits for a batch holding its subscription, then writes", async () => {
    const customer = await side.stripe.customers.create({ email: 'write-through-lock@example.com' });
    const price = (await side.stripe.prices.list({ lookup_keys: ['basic_monthly'] })).data[0]!.id;
    const sub = await side.stripe.subscriptions.create({ customer: customer.id, items: [{ price }] });
    const batch = await openTransaction();
    let written = false;
    try {
      await batch.run(lockSql, [sub.id]);
      const writing = writeThrough({ em: gw.orm.em.fork(), stripe: side.stripe, catalog: side.catalog, config: { portalReturnUrlAllowlist: [], publicUrl: 'http://localhost' } }, [sub]).then(() => (written = true));
      void writing.catch(() => undefined); // awaited below
      await eventually('the write-through waiting for the lock', async () => {
        const rows = await (gw.orm.em.fork() as SqlEntityManager).execute<{ n: number }[]>(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and pid <> ?`,
          [batch.pid],
        );
        return rows[0]!.n;
      }, (n) => n === 1);
      expect(written).toBe(false);
      await batch.end();
      await writing;
    } finally {
      await batch.end();
    }
    const rows = await (gw.orm.em.fork() as SqlEntityManager).execute<{ id: string }[]>(`select id from subscriptions where id = ?`, [sub.id]);
    expect(rows).toHaveLength(1);
  });
});
