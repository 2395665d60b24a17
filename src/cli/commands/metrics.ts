import type { Command } from 'commander';
import type { CliContext } from '../index.js';
import { commandGroup, printJson, printLines } from '../shared.js';

interface MrrOptions {
  json?: boolean;
}

export function registerMetrics(program: Command, ctx: CliContext): void {
  const metrics = commandGroup(program, 'metrics', 'Billing metrics from the mirror.');

  metrics
    .command('mrr')
    .description('Monthly recurring revenue: one line per currency, e.g. `MRR: $4,523.00 (4,523 active subscriptions)`.')
    .option('--json', 'print the full MRR report (the mrr query: totals, activeSubscriptions, byPlan, …) as JSON')
    .addHelpText(
      'after',
      '\nACTIVE and PAST_DUE subscriptions, normalised to a month, discounts applied, rounded once per currency.\n' +
        'Reads DATABASE_URL, or the embedded PGlite under DATA_DIR (a running sandbox gateway holds it).',
    )
    .action(async (opts: MrrOptions) => {
      const [{ cliConfig }, { withDatabase }, { MrrReportService, formatMrrLine }, { currentMrr }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/metrics/mrr-report.js'),
        import('../../billing/metrics/current-mrr.js'),
      ]);
      await withDatabase(cliConfig(), async (em) => {
        if (opts.json) {
          printJson(await new MrrReportService(em).report());
          return;
        }
        const snapshot = await currentMrr(em);
        if (snapshot.currencies.length === 0) {
          printLines(formatMrrLine({ totals: [], activeSubscriptions: 0 }));
          return;
        }
        // One line per currency, each with the subscriptions that count in it.
        for (const c of snapshot.currencies) {
          printLines(formatMrrLine({ totals: [{ amount: c.amount, currency: c.currency }], activeSubscriptions: c.subscriptions }));
        }
      });
      ctx.outcome = 0;
    });
}
