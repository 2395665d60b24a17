import { InvalidArgumentError, type Command } from 'commander';
import { commandGroup, printJson, printLines, type CliContext } from '../common.js';

interface MrrOptions {
  json?: boolean;
}


/** A date (`2026-03-01`, read as UTC midnight) or a full ISO date-time. */
function parseDate(value: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected a date (YYYY-MM-DD) or an ISO date-time.');
  return d;
}

function parseInterval(value: string): 'DAY' | 'WEEK' | 'MONTH' {
  const v = value.toUpperCase();
  if (v !== 'DAY' && v !== 'WEEK' && v !== 'MONTH') throw new InvalidArgumentError('expected day, week or month.');
  return v;
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

  metrics
    .command('revenue')
    .description('MRR over time and its movements (new, expansion, contraction, churn, reactivation), one row per interval.')
    .option('--from <date>', 'first day (UTC; default: twelve months before the current month)', parseDate)
    .option('--to <date>', 'end, exclusive (default: now)', parseDate)
    .option('--interval <interval>', 'day, week (from Monday) or month', parseInterval, 'MONTH')
    .option('--currency <code>', 'one currency only (e.g. usd)')
    .option('--json', 'print the points (the revenue query) as JSON')
    .addHelpText('after', '\nReads DATABASE_URL, or the embedded PGlite under DATA_DIR (a running sandbox gateway holds it).')
    .action(async (opts: { from?: Date; to?: Date; interval: 'DAY' | 'WEEK' | 'MONTH'; currency?: string; json?: boolean }) => {
      const [{ cliConfig }, { withDatabase }, { revenueReport }, { formatRevenueTable }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../../billing/metrics/revenue.js'),
        import('../revenue-table.js'),
      ]);
      const to = opts.to ?? new Date();
      const from = opts.from ?? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - 12, 1));
      await withDatabase(cliConfig(), async (em) => {
        const points = await revenueReport(em, { from, to, interval: opts.interval, currency: opts.currency ?? null });
        if (opts.json) printJson(points);
        else printLines(...formatRevenueTable(points, opts.interval));
      });
      ctx.outcome = 0;
    });
}
