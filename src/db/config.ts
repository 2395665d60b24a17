import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { AbstractSqlDriver, Options } from '@mikro-orm/sql';
import { logger } from '../log.js';
import { PROJECT_ROOT } from '../paths.js';
import { ENTITIES, ROUTINES } from './entities/index.js';
import { migrationsList } from './migrations/index.js';
import { ObservingLogger } from './query-observer.js';

export type OrmConfigInput = {
  /** `postgres://…` → PostgreSQL; unset → PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Where PGlite keeps its cluster (`<dataDir>/pglite`); default `.data`. `memory://` keeps it in memory. */
  dataDir?: string;
  /** Log every SQL statement (with parameters) at info level. */
  debug?: boolean;
};

export type OrmOptions = Options<AbstractSqlDriver>;

export const MIGRATIONS_TABLE = 'mikro_orm_migrations';
const IN_MEMORY = 'memory://';

/** The PGlite cluster location for a data dir, or `memory://` for an in-memory cluster. */
export function pgliteClusterPath(dataDir: string): string {
  return dataDir.startsWith('memory:') ? IN_MEMORY : resolve(dataDir, 'pglite');
}

/** One ORM configuration for the app, the root `mikro-orm.config.ts` and tests. */
export async function createOrmConfig(input: OrmConfigInput = {}): Promise<OrmOptions> {
  const ormLogger = logger.child({ module: 'orm' });
  const common = {
    entities: [...ENTITIES],
    routines: [...ROUTINES],
    extensions: [Migrator],
    migrations: {
      tableName: MIGRATIONS_TABLE,
      // Registered explicitly so the recorded names are the same from src/ (vitest) and dist/.
      migrationsList,
      snapshot: false,
      snapshotOnMigrate: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
      emit: 'ts' as const,
      // Only where `make-migration` writes new files; running never scans it.
      path: resolve(PROJECT_ROOT, 'src/db/migrations'),
      pathTs: resolve(PROJECT_ROOT, 'src/db/migrations'),
    },
    debug: input.debug ? (['query', 'query-params'] as const).slice() : false,
    colors: false,
    loggerFactory: (options: ConstructorParameters<typeof ObservingLogger>[0]) =>
      new ObservingLogger({ ...options, writer: (message) => ormLogger.info(message) }),
    // Entities are plain schemas (defineEntity); no reflection or folder scanning.
    discovery: { warnWhenNoEntities: true },
  } satisfies OrmOptions;

  if (input.databaseUrl) {
    // Never create the database DATABASE_URL names: a typo in its name would otherwise get an empty,
    // freshly migrated database instead of an error. Only the embedded default is created on demand.
    return {
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: input.databaseUrl,
      ensureDatabase: false,
      // Only the prepared reads (src/db/plain-rows.ts) have plans to cache; the ORM inlines its values.
      // Their `= any($1)` keys look costlier in a generic plan than one customer's custom plan, so in
      // `auto` PostgreSQL planned them again on every execution (a third of a customer read's time).
      driverOptions: { options: '-c plan_cache_mode=force_generic_plan' },
    };
  }
  // Loaded only for the embedded database: PGlite is a fifth of the code a one-shot command such as
  // `sync --full` would otherwise load on DATABASE_URL, where it is never used.
  const { PgliteDriver } = await import('@mikro-orm/pglite');
  const cluster = pgliteClusterPath(input.dataDir ?? '.data');
  // PGlite creates its cluster dir but not the parents.
  if (cluster !== IN_MEMORY) mkdirSync(resolve(cluster, '..'), { recursive: true });
  return { ...common, driver: PgliteDriver, dbName: cluster, ensureDatabase: false };
}

/** Whether `config` opens the embedded database (PGlite) rather than a PostgreSQL server. */
export function isPgliteConfig(config: Pick<OrmOptions, 'driver'>): boolean {
  return config.driver?.name === 'PgliteDriver';
}
