import { MikroORM, type AbstractSqlDriver, type SqlEntityManager } from '@mikro-orm/sql';
import { logger } from '../log.js';
import { createOrmConfig, isPgliteConfig, type OrmConfigInput, type OrmOptions } from './config.js';
import { useFastEscapeLiteral } from './escape-literal.js';
import { explainDatabaseError } from './open-errors.js';
import { acquirePgliteLock } from './pglite-lock.js';

/** The ORM for either driver (PostgreSQL or PGlite); use `orm.em.fork()` per request or job. */
export type Orm = MikroORM<AbstractSqlDriver, SqlEntityManager<AbstractSqlDriver>>;
export type Em = SqlEntityManager<AbstractSqlDriver>;

export type OpenOrmOptions = OrmConfigInput & {
  /** Run pending migrations after connecting (default true). */
  migrate?: boolean;
};

/** Connects (PostgreSQL when `databaseUrl` is set, else PGlite under `dataDir`) and applies pending migrations. */
export async function openOrm(opts: OpenOrmOptions = {}): Promise<Orm> {
  return openOrmWith(await createOrmConfig(opts), opts.migrate);
}

/**
 * Like `openOrm`, from a ready configuration (tests adjust one). A PostgreSQL connection or migration
 * failure becomes one line naming DATABASE_URL and the fix (open-errors.ts).
 */
export async function openOrmWith(config: OrmOptions, migrate = true): Promise<Orm> {
  const pglite = isPgliteConfig(config);
  const url = pglite ? undefined : config.clientUrl;
  const explain = (error: unknown) => (url ? explainDatabaseError(error, url) : error);
  const cluster = pglite ? config.dbName : undefined;
  const release = cluster && !cluster.startsWith('memory:') ? acquirePgliteLock(`${cluster}.lock`) : undefined;
  let orm: Orm;
  try {
    orm = (await MikroORM.init(config)) as Orm;
    useFastEscapeLiteral(orm.em.getPlatform());
  } catch (error) {
    release?.();
    throw explain(error);
  }
  if (url) {
    // MikroORM's migrator creates a missing database; asking the database first turns a typo into an error.
    try {
      await checkDatabase(orm);
    } catch (error) {
      await orm.close(true);
      throw explain(error);
    }
  }
  if (release) {
    // Released however the ORM gets closed (closeOrm or orm.close).
    const close = orm.close.bind(orm);
    orm.close = async (force?: boolean) => {
      try {
        await close(force);
      } finally {
        release();
      }
    };
  }
  try {
    if (migrate) await migrateUp(orm);
  } catch (error) {
    await orm.close(true);
    throw explain(error);
  }
  return orm;
}

/** Applies every pending migration in one transaction; returns the names applied. */
export async function migrateUp(orm: Orm): Promise<string[]> {
  const applied = await orm.migrator.up();
  const names = applied.map((m) => m.name);
  if (names.length > 0) logger.info({ migrations: names }, 'database migrated');
  return names;
}

/** Reverts migrations: the last one by default, or down to (not including) `to`; `to: 0` reverts all. */
export async function migrateDown(orm: Orm, opts: { to?: string | 0 } = {}): Promise<string[]> {
  const reverted = await orm.migrator.down(opts.to === undefined ? undefined : { to: opts.to });
  return reverted.map((m) => m.name);
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  return (await orm.migrator.getPending()).map((m) => m.name);
}

/** Names of applied migrations, oldest first. */
export async function executedMigrations(orm: Orm): Promise<string[]> {
  return (await orm.migrator.getExecuted()).map((m) => m.name);
}

/** For /readyz: resolves when the database answers `select 1`, else rejects. */
export async function checkDatabase(orm: Orm): Promise<void> {
  await orm.em.getConnection().execute('select 1');
}

/** Closes the pool (PostgreSQL) or the embedded cluster (PGlite, flushing it to disk). */
export async function closeOrm(orm: Orm): Promise<void> {
  await orm.close(true);
}
