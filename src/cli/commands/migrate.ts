import type { Command } from 'commander';
import { writeOut } from '../in-gateway.js';
import { printJson, type CliContext } from '../common.js';

interface MigrateOptions {
  status?: boolean;
  json?: boolean;
}

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (DATABASE_URL, or the embedded PGlite under DATA_DIR).')
    .option('--status', 'list applied and pending migrations without applying any')
    .option('--json', 'print the result as JSON')
    .action(async (opts: MigrateOptions) => {
      const [{ cliConfig }, { closeOrm, executedMigrations, migrateUp, pendingMigrations }, { openCliDatabase }] = await Promise.all([
        import('../config.js'),
        import('../../db/orm.js'),
        import('../gateway.js'),
      ]);
      const config = cliConfig();
      // The CLI's one way to open the database: a gateway holding PGlite gives the one-line explanation.
      const orm = await openCliDatabase(config, { migrate: false });
      const database = config.databaseUrl ? 'postgresql' : 'pglite';
      try {
        if (opts.status) {
          const [executed, pending] = await Promise.all([executedMigrations(orm), pendingMigrations(orm)]);
          if (opts.json) printJson({ database, executed, pending });
          else {
            writeOut(`${executed.length} applied, ${pending.length} pending (${database}).\n`);
            for (const name of pending) writeOut(`  pending  ${name}\n`);
          }
        } else {
          const applied = await migrateUp(orm);
          if (opts.json) printJson({ database, applied });
          else if (applied.length === 0) writeOut(`Database is up to date (${database}).\n`);
          else {
            writeOut(`Applied ${applied.length} migration(s) (${database}):\n`);
            for (const name of applied) writeOut(`  ${name}\n`);
          }
        }
      } finally {
        await closeOrm(orm);
      }
      ctx.outcome = 0;
    });
}
