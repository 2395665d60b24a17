/**
 * Writes a new migration with the difference between the entities and the schema the existing migrations
 * build: `npm run build && node dist/src/db/make-migration.js <name>`. Then review the file and append it
 * to `migrations/index.ts`.
 */
import { MikroORM } from '@mikro-orm/sql';
import { createOrmConfig } from './config.js';

const name = process.argv[2];
if (!name || !/^[a-z][a-z0-9_]*$/.test(name)) {
  console.error('usage: make-migration <name>  (lower_snake_case)');
  process.exit(1);
}
const orm = await MikroORM.init(await createOrmConfig({ dataDir: 'memory://' }));
try {
  await orm.migrator.up();
  const result = await orm.migrator.create(undefined, false, false, name);
  if (!result.fileName) console.log('No schema changes: nothing written.');
  else console.log(`Wrote src/db/migrations/${result.fileName}; review it and add it to migrations/index.ts.`);
} finally {
  await orm.close(true);
}
