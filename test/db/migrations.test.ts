import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTITIES } from '../../src/db/entities/index.js';
import { migrationsList } from '../../src/db/migrations/index.js';
import {
  checkDatabase,
  closeOrm,
  executedMigrations,
  migrateDown,
  migrateUp,
  openOrm,
  pendingMigrations,
  type Orm,
} from '../../src/db/orm.js';
import { MikroORM } from '@mikro-orm/sql';
import { createOrmConfig } from '../../src/db/config.js';
import { createPgliteDataDir, createPostgresDatabase, listTables } from '../support/db.js';

const expectedTables = ENTITIES.length;
const migrationNames = migrationsList.map((m) => m.name);

/** A database per driver: a new PGlite cluster dir, and (when configured) a new PostgreSQL database. */
type EmptyDatabase = { name: string; open(migrate?: boolean): Promise<Orm>; dispose(): Promise<void> };

function emptyPglite(): EmptyDatabase {
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-db-test-'));
  return {
    name: 'pglite',
    open: (migrate) => openOrm({ dataDir, migrate }),
    dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

async function emptyPostgres(server: string): Promise<EmptyDatabase> {
  const { url, drop } = await createPostgresDatabase(server);
  return {
    name: 'postgres',
    open: (migrate) => openOrm({ databaseUrl: url, migrate }),
    dispose: drop,
  };
}

/** A migrated PGlite cluster: a copy of the test template (built by these migrations), not initdb + migrations again. */
async function migratedPglite(): Promise<EmptyDatabase> {
  const { dataDir, dispose } = await createPgliteDataDir();
  return { name: 'pglite', open: () => openOrm({ dataDir, migrate: true }), dispose };
}

const drivers: { name: string; create(): Promise<EmptyDatabase>; migrated(): Promise<EmptyDatabase> }[] = [
  { name: 'pglite', create: async () => emptyPglite(), migrated: migratedPglite },
];
const server = process.env.TEST_DATABASE_URL;
if (server) drivers.push({ name: 'postgres', create: () => emptyPostgres(server), migrated: () => emptyPostgres(server) });

describe.each(drivers)('migrations on $name', ({ create, migrated }) => {
  // Each case has a database of its own: none depends on what another left behind.
  async function onDatabase(migrate: boolean, run: (orm: Orm) => Promise<void>): Promise<void> {
    const db = migrate ? await migrated() : await create();
    try {
      const orm = await db.open(migrate);
      try {
        await run(orm);
      } finally {
        if (await orm.isConnected()) await orm.close(true);
      }
    } finally {
      await db.dispose();
    }
  }

  it('apply on an empty database, creating one table per entity', () =>
    onDatabase(false, async (orm) => {
      expect(await listTables(orm)).toEqual([]);
      expect(await pendingMigrations(orm)).toEqual(migrationNames);

      expect(await migrateUp(orm)).toEqual(migrationNames);

      const tables = await listTables(orm);
      expect(tables).toHaveLength(expectedTables);
      expect(tables).toEqual(expect.arrayContaining(['customers', 'webhook_events', 'usage_records', 'billing_events', 'milestones']));
      expect(await pendingMigrations(orm)).toEqual([]);
      expect(await executedMigrations(orm)).toEqual(migrationNames);
      expect(await migrateUp(orm)).toEqual([]);
    }));

  it('leave no difference between the entities and the schema', () =>
    onDatabase(true, async (orm) => {
      expect(await executedMigrations(orm)).toEqual(migrationNames);
      const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    }));

  it('go down to nothing and back up', () =>
    onDatabase(true, async (orm) => {
      expect(await listTables(orm)).toHaveLength(expectedTables);
      await migrateDown(orm, { to: 0 });
      expect(await listTables(orm)).toEqual([]);
      expect(await pendingMigrations(orm)).toEqual(migrationNames);

      await migrateUp(orm);
      expect(await listTables(orm)).toHaveLength(expectedTables);
      expect(await executedMigrations(orm)).toEqual(migrationNames);
    }));

  it('answer the readiness check', () =>
    onDatabase(true, async (orm) => {
      await expect(checkDatabase(orm)).resolves.toBeUndefined();
    }));
});

describe('the readiness check', () => {
  it('fails when the database does not answer', async () => {
    // Port 1: nothing listens there, so the connection is refused. (openOrm itself refuses to open it.)
    const orm = (await MikroORM.init(await createOrmConfig({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere' }))) as Orm;
    try {
      await expect(checkDatabase(orm)).rejects.toThrow();
    } finally {
      await closeOrm(orm);
    }
    await expect(openOrm({ databaseUrl: 'postgres://postgres:pw@127.0.0.1:1/nowhere', migrate: false })).rejects.toThrow(
      'DATABASE_URL: nothing accepts connections at 127.0.0.1:1 (connection refused); start PostgreSQL there, or fix the host and port',
    );
  });
});
