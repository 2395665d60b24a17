/**
 * /readyz asks more than "does the database answer": every migration must be applied (a database
 * that exists but has no tables, or lacks a migration, is not ready), and the sync must not be stuck
 * (events syncs failing run after run, or an inbox event due for processing far too long).
 */
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOrmConfig } from '../../src/db/config.js';
import { checkDatabase, closeOrm, openOrm, openOrmWith, type Orm } from '../../src/db/orm.js';
import { syncMissedEvents } from '../../src/stripe/sync/index.js';
import { storeEvent } from '../../src/stripe/webhooks/inbox.js';
import { createPostgresDatabase, createTestOrm, type TestOrm } from '../support/db.js';
import { emulatorWithClient } from '../support/emulator.js';
import { fakeEvent } from '../webhooks/support.js';
import { startTestGateway, type TestGateway } from './harness.js';

async function readyz(gw: TestGateway): Promise<{ status: number; body: { status: string; failed?: string[]; checks: Record<string, string> } }> {
  const res = await fetch(`${gw.url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('migrations', () => {
  let gw: TestGateway | undefined;
  let empty: { orm: Orm; dispose(): Promise<void> } | undefined;
  afterEach(async () => {
    await gw?.close();
    await empty?.dispose();
    gw = undefined;
    empty = undefined;
  });

  it('a database that exists but has no tables is not ready (503 naming migrations)', async () => {
    const server = process.env.TEST_DATABASE_URL;
    if (server) {
      const db = await createPostgresDatabase(server);
      const orm = await openOrm({ databaseUrl: db.url, migrate: false });
      empty = { orm, dispose: async () => (await closeOrm(orm), await db.drop()) };
    } else {
      const orm = await openOrmWith(await createOrmConfig({ dataDir: 'memory://' }), false);
      empty = { orm, dispose: () => closeOrm(orm) };
    }
    // The database check as `serve` wires it (a `select 1`).
    const orm = empty.orm;
    gw = await startTestGateway({}, { orm, checkDatabase: () => checkDatabase(orm) });
    const { status, body } = await readyz(gw);
    expect(status).toBe(503);
    expect(body.failed).toContain('migrations');
    expect(body.checks.database).toBe('ok');
    // The probe created nothing: the database is still empty.
    const tables = await empty.orm.em.getConnection().execute(`select 1 from information_schema.tables where table_schema = current_schema()`);
    expect(tables).toHaveLength(0);
  });

  it('a database that lacks a migration is not ready; all applied is ready', async () => {
    gw = await startTestGateway();
    expect((await readyz(gw)).status).toBe(200);
    const [last] = await gw.orm.em.getConnection().execute<{ name: string }[]>(`delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations) returning name`);
    expect(last?.name).toMatch(/^Migration/);
    const { status, body } = await readyz(gw);
    expect(status).toBe(503);
    expect(body.failed).toEqual(['migrations']);
  });
});

describe('a stuck sync', () => {
  let gw: TestGateway;
  let db: TestOrm;
  beforeAll(async () => {
    db = await createTestOrm();
    gw = await startTestGateway({ SYNC_STUCK_FAILURES: '3' }, { orm: db.orm });
  });
  afterAll(async () => {
    await gw?.close();
    await db?.dispose();
  });

  it('events syncs failing run after run make /readyz 503 naming the sync, until one succeeds', async () => {
    expect((await readyz(gw)).status).toBe(200);
    // Stripe unreachable: nothing listens on that port.
    const unreachable = new Stripe('sk_test_unreachable', { host: '127.0.0.1', port: 9, protocol: 'http', maxNetworkRetries: 0 });
    for (let i = 1; i <= 3; i++) {
      await expect(syncMissedEvents({ orm: db.orm, stripe: unreachable })).rejects.toThrow();
      expect((await readyz(gw)).status).toBe(i < 3 ? 200 : 503);
    }
    expect((await readyz(gw)).body).toMatchObject({ status: 'unavailable', failed: ['sync'], checks: { database: 'ok', migrations: 'ok', sync: 'failed' } });

    // One successful sync and it is ready again.
    const { emu, stripe } = await emulatorWithClient();
    try {
      await syncMissedEvents({ orm: db.orm, stripe });
    } finally {
      await emu.close();
    }
    expect((await readyz(gw)).status).toBe(200);
  });

  it('an inbox event due for processing longer than SYNC_STUCK_SECONDS makes /readyz 503', async () => {
    await db.orm.em.getConnection().execute(`delete from sync_state`);
    expect((await readyz(gw)).status).toBe(200);
    const event = fakeEvent('customer.created', { id: 'cus_waiting', object: 'customer', created: 1_700_000_000, metadata: {} });
    await storeEvent(db.orm.em.fork(), event);
    // Due a minute ago: a worker would take it now; no sign of a stuck sync yet.
    await db.orm.em.getConnection().execute(`update webhook_events set next_attempt_at = now() - interval '1 minute' where id = ?`, [event.id]);
    expect((await readyz(gw)).status).toBe(200);
    // Due 16 minutes ago and still waiting: no worker is taking the inbox.
    await db.orm.em.getConnection().execute(`update webhook_events set next_attempt_at = now() - interval '16 minutes' where id = ?`, [event.id]);
    expect((await readyz(gw)).body).toMatchObject({ failed: ['sync'] });
    // Waiting for a retry later (not due) is not stuck, nor is a parked event.
    await db.orm.em.getConnection().execute(`update webhook_events set status = 'parked' where id = ?`, [event.id]);
    expect((await readyz(gw)).status).toBe(200);
  });
});
