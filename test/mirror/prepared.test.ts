import type Stripe from 'stripe';
import { expect, it } from 'vitest';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { Customer } from '../../src/db/entities/index.js';
import { preparedName, upsertRows } from '../../src/stripe/mirror/bound-sql.js';
import { storeEvents } from '../../src/stripe/webhooks/inbox.js';
import { createTestOrm } from '../support/db.js';

const row = (id: string) => ({ id, email: `${id}@example.com`, name: null, deleted: false, createdAt: new Date(), raw: { id }, syncedAt: new Date() });

// PostgreSQL only (TEST_DATABASE_URL): PGlite's driver keeps no statements, and none are named there.
it.skipIf(!process.env.TEST_DATABASE_URL)('the mirror and the inbox send their few-row statements as prepared statements of the connection', async () => {
  const { orm, dispose } = await createTestOrm();
  try {
    await orm.em.fork().transactional(async (tx) => {
      await upsertRows(tx, Customer, 'customers', [row('cus_prep_a')]);
      await upsertRows(tx, Customer, 'customers', [row('cus_prep_b')]);
      // Prepared statements are per session: this transaction's connection holds the upsert once, by its name.
      const held = await (tx as SqlEntityManager).execute<{ name: string; statement: string }[]>(`select name, statement from pg_prepared_statements`);
      const upserts = held.filter((s) => s.statement.startsWith('insert into "customers"'));
      expect(upserts).toHaveLength(1);
      expect(upserts[0]!.name).toBe(preparedName(tx, upserts[0]!.statement, Object.keys(row('x')).length));
    });
    expect(await orm.em.fork().count(Customer, { id: { $in: ['cus_prep_a', 'cus_prep_b'] } })).toBe(2);

    // A statement with many parameters (a shape seldom seen twice) is not kept.
    expect(preparedName(orm.em, 'select 1', 257)).toBeNull();

    // The inbox's inserts, one after the other: the pool hands out its most recently released
    // connection, so one connection ran all twelve and holds the statement once.
    const event = (n: number) => ({ id: `evt_prep_${n}`, object: 'event', type: 'customer.updated', api_version: null, created: 1_767_225_600 + n, data: { object: { id: `cus_prep_${n}`, object: 'customer' } } }) as unknown as Stripe.Event;
    for (let n = 0; n < 12; n++) expect(await storeEvents(orm.em.fork(), [{ event: event(n) }])).toEqual(['stored']);
    const pool = (await (orm.em.getConnection() as unknown as { getNativeClient(): Promise<{ connect(): Promise<{ query(q: string): Promise<{ rows: { statement: string }[] }>; release(): void }> }> }).getNativeClient());
    const client = await pool.connect();
    try {
      const inserts = (await client.query(`select statement from pg_prepared_statements`)).rows.filter((s) => s.statement.startsWith('insert into "webhook_events"'));
      expect(inserts).toHaveLength(1);
    } finally {
      client.release();
    }
  } finally {
    await dispose();
  }
});
