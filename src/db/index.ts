export * from './entities/index.js';
export { createOrmConfig, pgliteClusterPath, MIGRATIONS_TABLE, type OrmConfigInput, type OrmOptions } from './config.js';
export {
  openOrm,
  openOrmWith,
  migrateUp,
  migrateDown,
  pendingMigrations,
  executedMigrations,
  checkDatabase,
  closeOrm,
  type Orm,
  type Em,
  type OpenOrmOptions,
} from './orm.js';
export { ObservingLogger, onQuery, type QueryListener } from './query-observer.js';
