/**
 * Databases for tests, isolated per call so parallel vitest workers never share rows.
 *
 * - `TEST_DATABASE_URL` set: a fresh, uniquely named database on that server per call, migrated, dropped on dispose.
 * - Unset: PGlite. Creating and migrating a cluster costs seconds, so it is done once (per machine, per set of
 *   migrations) into a cached template under the OS temp dir; each call then loads that template into a new
 *   in-memory cluster (~0.5 s), or copies it to a temp dir when a separate process needs it (`createTestDatabase`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { createOrmConfig } from '../../src/db/config.js';
import { migrationsList } from '../../src/db/migrations/index.js';
import { closeOrm, openOrm, openOrmWith, type Orm } from '../../src/db/orm.js';
import { onQuery } from '../../src/db/query-observer.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { eventually } from './eventually.js';

export type TestOrm = {
  orm: Orm;
  /** The database URL (PostgreSQL only). */
  url?: string;
  /** Closes the ORM and deletes the database. Safe to call twice. */
  dispose(): Promise<void>;
};

export type TestDatabase = {
  /** Environment for a gateway process: `DATABASE_URL` (PostgreSQL) or `DATA_DIR` (PGlite). Already migrated. */
  env: { DATABASE_URL?: string; DATA_DIR?: string };
  /** Deletes the database or the data dir (stop the process using it first). */
  dispose(): Promise<void>;
};

const serverUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

/** A migrated database of its own, with an ORM open on it. */
export async function createTestOrm(opts: { debug?: boolean } = {}): Promise<TestOrm> {
  const server = serverUrl();
  if (server) {
    const { url, drop } = await createPostgresDatabase(server);
    let orm: Orm;
    try {
      orm = await openOrm({ databaseUrl: url, debug: opts.debug });
    } catch (error) {
      await drop();
      throw error;
    }
    return { orm, url, dispose: once(async () => {
      await closeOrm(orm);
      await drop();
    }) };
  }
  const template = await pgliteTemplate();
  const config = await createOrmConfig({ dataDir: 'memory://', debug: opts.debug });
  // loadDataDir restores the migrated template instead of running initdb and the migrations again.
  // A function, because MikroORM deep-copies an options object and a copied Blob is unusable.
  const orm = await openOrmWith({ ...config, driverOptions: () => ({ loadDataDir: new Blob([template.dump]) }) });
  return { orm, dispose: once(() => closeOrm(orm)) };
}

/** A migrated database for a separate process (e.g. the gateway started by an end-to-end test). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = serverUrl();
  if (server) {
    const { url, drop } = await createPostgresDatabase(server);
    try {
      await closeOrm(await openOrm({ databaseUrl: url }));
    } catch (error) {
      await drop();
      throw error;
    }
    return { env: { DATABASE_URL: url }, dispose: once(drop) };
  }
  const { dataDir, dispose } = await createPgliteDataDir();
  return { env: { DATA_DIR: dataDir }, dispose };
}

/** A temp `DATA_DIR` holding a migrated PGlite cluster (whatever TEST_DATABASE_URL says), for restart tests. */
export async function createPgliteDataDir(): Promise<{ dataDir: string; dispose(): Promise<void> }> {
  const template = await pgliteTemplate();
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-test-data-'));
  cpSync(template.clusterDir, join(dataDir, 'pglite'), { recursive: true });
  return { dataDir, dispose: once(async () => rmSync(dataDir, { recursive: true, force: true })) };
}

export type StatementCount<T> = { count: number; statements: string[]; result: T };

/**
 * Runs `fn` and counts the SQL statements `orm` executed meanwhile (transaction control included).
 * Every statement of the ORM counts, so keep other work on that ORM quiet while measuring.
 */
export async function countStatements<T>(orm: Orm, fn: () => Promise<T>): Promise<StatementCount<T>> {
  const statements: string[] = [];
  const stop = onQuery(orm, (context) => statements.push(context.query));
  try {
    const result = await fn();
    return { count: statements.length, statements, result };
  } finally {
    stop();
  }
}

/** Table names of the schema (for tests comparing mirrors), excluding the migrations table. */
export async function listTables(orm: Orm): Promise<string[]> {
  const rows = await orm.em
    .getConnection()
    .execute<{ table_name: string }[]>(
      `select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
    );
  return rows.map((r) => r.table_name).filter((t) => t !== 'mikro_orm_migrations');
}

/** Empties every table (not the migrations) in one statement, for tests that share a database between cases. */
export async function clearTables(orm: Orm): Promise<void> {
  const tables = await listTables(orm);
  if (tables.length > 0) await orm.em.getConnection().execute(`truncate table ${tables.map((t) => `"${t}"`).join(', ')}`);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: one database per call.

/** An empty, uniquely named database on `server` (not migrated), with a `drop` that removes it. */
export async function createPostgresDatabase(server: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
  await adminQuery(server, `create database "${name}"`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE: a test that failed halfway may leave a connection open.
    drop: () => adminQuery(server, `drop database if exists "${name}" with (force)`),
  };
}

async function adminQuery(server: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PGlite: a migrated template, built once per machine and set of migrations, reused by every worker.

type PgliteTemplate = { dump: Buffer; clusterDir: string };
let templatePromise: Promise<PgliteTemplate> | undefined;

function pgliteTemplate(): Promise<PgliteTemplate> {
  return (templatePromise ??= loadOrBuildTemplate());
}

function templateKey(): string {
  const hash = createHash('sha256');
  try {
    hash.update(readFileSync(join(PROJECT_ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  } catch {
    hash.update('pglite-unknown');
  }
  for (const m of migrationsList) hash.update(m.name).update(String(m.class));
  return hash.digest('hex').slice(0, 16);
}

async function loadOrBuildTemplate(): Promise<PgliteTemplate> {
  const root = join(tmpdir(), 'billing-gateway-test-pglite');
  const key = templateKey();
  const dir = join(root, key);
  const ready = () => existsSync(join(dir, 'ready'));
  mkdirSync(root, { recursive: true });
  // One worker builds while the others wait for it (a lock dir; a stale one from a killed run is taken over).
  const lock = join(root, `${key}.lock`);
  await eventually(
    `the PGlite test template (lock ${lock})`,
    async () => {
      if (ready()) return true;
      if (!tryLock(lock)) return false;
      try {
        if (!ready()) await buildTemplate(root, dir);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      pruneOldTemplates(root, key);
      return true;
    },
    undefined,
    { timeout: 120_000, interval: 200 },
  );
  return { dump: readFileSync(join(dir, 'dump.tar')), clusterDir: join(dir, 'data', 'pglite') };
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
    return false;
  }
}

async function buildTemplate(root: string, dir: string): Promise<void> {
  // Built aside and renamed into place, so no reader ever sees a half-built template.
  const building = mkdtempSync(join(root, 'build-'));
  try {
    const orm = await openOrm({ dataDir: join(building, 'data') });
    try {
      const pglite = (await orm.em.getConnection().getNativeClient()) as PGlite;
      const dump = await pglite.dumpDataDir('none');
      writeFileSync(join(building, 'dump.tar'), Buffer.from(await dump.arrayBuffer()));
    } finally {
      await closeOrm(orm);
    }
    writeFileSync(join(building, 'ready'), new Date().toISOString());
    renameSync(building, dir);
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/** Templates of older migration sets, untouched for a day, only take disk space. */
function pruneOldTemplates(root: string, currentKey: string): void {
  for (const name of readdirSync(root)) {
    if (name === currentKey || name.endsWith('.lock')) continue;
    const path = join(root, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
    } catch {
      // another process pruned it
    }
  }
}
