import { createOrmConfig } from './src/db/config.js';

// For MikroORM tooling (e.g. generating a migration), which accepts a promise of the config; the app builds
// the same config through src/db/orm.ts.
export default createOrmConfig({
  databaseUrl: process.env.DATABASE_URL || undefined,
  dataDir: process.env.DATA_DIR || undefined,
  debug: process.env.DB_DEBUG === '1',
});
