import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { SyncReport } from '../../stripe/catalog-sync.js';
import { printJson, parseUrl, type CliContext } from '../common.js';

interface SetupOptions {
  catalog?: string;
  apiBase?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The report without the Stripe objects: what a person or a script wants to read. */
export function summarizeReport(report: SyncReport) {
  const { dryRun, created, updated, replaced, unchanged, changed, items, warnings } = report;
  return { dryRun, created, updated, replaced, unchanged, changed, items, warnings };
}

export function registerSetup(program: Command, ctx: CliContext): void {
  program
    .command('setup')
    .description('Sync the plan catalog to Stripe (products, meters, prices by lookup key); idempotent.')
    .option('--catalog <path>', 'plan catalog file (default: BILLING_CATALOG or the shipped catalog)')
    .option('--api-base <url>', 'Stripe API base, e.g. an emulator at http://127.0.0.1:12111 (default: STRIPE_API_BASE)', parseUrl)
    .option('--dry-run', 'show what would change without writing')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nTarget: STRIPE_SECRET_KEY set → Stripe; otherwise the emulator (STRIPE_API_BASE, a sandbox gateway on\nSTRIPE_EMULATOR_PORT, or one started for this command on DATA_DIR/emulator).',
    )
    .action(async (opts: SetupOptions) => {
      // Loaded here, not at the top: `--help` and the other commands stay fast.
      const [{ cliConfig }, { loadCatalog }, { syncCatalog }, { createProgress }, { resolveStripeTarget }] = await Promise.all([
        import('../config.js'),
        import('../../catalog.js'),
        import('../../stripe/catalog-sync.js'),
        import('../progress.js'),
        import('../stripe-target.js'),
      ]);
      const config = cliConfig();
      const catalog = loadCatalog(opts.catalog ? resolve(opts.catalog) : config.billingCatalog);
      const target = await resolveStripeTarget(config, opts.apiBase);
      const progress = createProgress('Syncing catalog', !opts.json && !!process.stderr.isTTY);
      let report: SyncReport;
      try {
        report = await syncCatalog(target.stripe, catalog, {
          dryRun: opts.dryRun,
          onProgress: ({ done, total, item }) => progress.update(done, total, `${item.kind} ${item.key}`),
        });
      } finally {
        progress.stop();
        await target.close();
      }
      if (opts.json) {
        printJson({ target: target.kind, ...(target.apiBase ? { apiBase: target.apiBase } : {}), ...summarizeReport(report) });
      } else {
        for (const item of report.items) {
          if (item.action === 'unchanged') continue;
          const detail = [item.id, item.previousId ? `(was ${item.previousId})` : '', item.changes?.length ? `[${item.changes.join(', ')}]` : '']
            .filter(Boolean)
            .join(' ');
          process.stdout.write(`${report.dryRun ? 'would be ' : ''}${item.action.padEnd(9)} ${item.kind.padEnd(7)} ${item.key} ${detail}\n`);
        }
        for (const w of report.warnings) process.stdout.write(`warning: ${w}\n`);
        const where = target.kind === 'stripe' ? 'Stripe' : `the emulator at ${target.apiBase}`;
        process.stdout.write(
          `${report.dryRun ? 'Dry run against' : 'Catalog synced to'} ${where}: ${report.created} created, ${report.updated} updated, ` +
            `${report.replaced} replaced, ${report.unchanged} unchanged.\n`,
        );
      }
      ctx.outcome = 0;
    });
}
