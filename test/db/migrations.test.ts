import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createPostgresDatabase, listTables } from '../support/db.js';

const expectedTables = ENTITIES.length;
const migrationNames = migrationsList.map((m) => m.name);

/** An empty database per driver: a new PGlite cluster dir, and (when configured) a new PostgreSQL database. */
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

const drivers: { name: string; create(): Promise<EmptyDatabase> }[] = [{ name: 'pglite', create: async () => emptyPglite() }];
const server = process.env.TEST_DATABASE_URL;
if (server) drivers.push({ name: 'postgres', create: () => emptyPostgres(server) });

describe.each(drivers)('migrations on $name', ({ create }) => {
  let db: EmptyDatabase;
  let orm: Orm;

  beforeAll(async () => {
    db = await create();
    orm = await db.open(false);
  });
  afterAll(async () => {
    if (orm && (await orm.isConnected())) await orm.close(true);
    await db?.dispose();
  });

  it('apply on an empty database, creating one table per entity', async () => {
    expect(await listTables(orm)).toEqual([]);
    expect(await pendingMigrations(orm)).toEqual(migrationNames);

    expect(await migrateUp(orm)).toEqual(migrationNames);

    const tables = await listTables(orm);
    expect(tables).toHaveLength(expectedTables);
    expect(tables).toEqual(expect.arrayContaining(['customers', 'webhook_events', 'usage_records', 'billing_events', 'milestones']));
    expect(await pendingMigrations(orm)).toEqual([]);
    expect(await executedMigrations(orm)).toEqual(migrationNames);
    expect(await migrateUp(orm)).toEqual([]);
  });

  it('leave no difference between the entities and the schema', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('go down to nothing and back up', async () => {
    await migrateDown(orm, { to: 0 });
    expect(await listTables(orm)).toEqual([]);
    expect(await pendingMigrations(orm)).toEqual(migrationNames);

    await migrateUp(orm);
    expect(await listTables(orm)).toHaveLength(expectedTables);
    expect(await executedMigrations(orm)).toEqual(migrationNames);
  });

  it('answer the readiness check', async () => {
    await expect(checkDatabase(orm)).resolves.toBeUndefined();
  });
});

describe('the readiness check', () => {
  it('fails when the database does not answer', async () => {
    // Port 1: nothing listens there, so the connection is refused. (openOrm itself refuses to open it.)
    const orm = (await MikroORM.init(createOrmConfig({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere' }))) as Orm;
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
