import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { CliError, intOption, parseUrl, printJson, printLines, type CliContext } from '../common.js';

interface SeedOptions {
  customers: number;
  plan?: string;
  quantity?: number;
  apiBase?: string;
  json?: boolean;
}

/** Subscribes run a few at a time: each is several Stripe calls and one transaction. */
const CONCURRENCY = 4;

export function registerSeed(program: Command, ctx: CliContext): void {
  program
    .command('seed')
    .description('Sandbox demo data: N new customers, each subscribed (card pm_card_visa) through the subscribe service.')
    .requiredOption('--customers <n>', 'customers to create, 1-10000', intOption(1, 10_000))
    .option('--plan <id>', 'catalog plan for every subscription (default: the self-serve plans in turn)')
    .option('--quantity <n>', 'seats per subscription (per-seat plans), default 1', intOption(1, 100_000))
    .option('--api-base <url>', 'the emulator, e.g. http://127.0.0.1:12111 (default: STRIPE_API_BASE, else STRIPE_EMULATOR_PORT)', parseUrl)
    .option('--json', 'print { customers, subscriptions, externalIdPrefix } as JSON')
    .addHelpText(
      'after',
      '\nSandbox only. Customers get externalIds seed_<run>_<n>; charges, invoices and webhooks happen as for real\n' +
        'subscribers. Beside a sandbox gateway on PGlite (DATA_DIR), the command runs inside that gateway.',
    )
    .action(async (opts: SeedOptions) => {
      const [{ cliConfig }, { openBilling, CLI_VIEWER }, { createProgress }] = await Promise.all([
        import('../config.js'),
        import('../gateway.js'),
        import('../progress.js'),
      ]);
      const config = cliConfig();
      if (!config.sandbox) throw new CliError('seed: only in the sandbox (STRIPE_SECRET_KEY is set); it would create real customers');
      const billing = await openBilling(config, { apiBase: opts.apiBase });
      const plans = opts.plan ? [opts.plan] : billing.catalog.plans.filter((p) => p.selfServe && p.price).map((p) => p.id);
      const prefix = `seed_${randomBytes(3).toString('hex')}`;
      const progress = createProgress('Seeding ', !opts.json && !!process.stderr.isTTY);
      const created: { customerId: string; subscriptionId: string; plan: string }[] = [];
      let next = 0;
      let failure: unknown;
      try {
        const worker = async () => {
          // The first failure stops every worker (they finish the subscribe in hand, start no other).
          while (failure === undefined && next < opts.customers) {
            const i = next++;
            const plan = plans[i % plans.length]!;
            // A forked EntityManager per subscribe, as the gateway has one per request.
            const lifecycle = billing.lifecycleFor(billing.orm.em.fork());
            try {
              const outcome = await lifecycle.subscribe(
                { viewer: CLI_VIEWER },
                {
                  plan,
                  customerId: `${prefix}_${String(i + 1).padStart(String(opts.customers).length, '0')}`,
                  quantity: opts.quantity ?? null,
                  paymentMethod: 'pm_card_visa',
                  idempotencyKey: `${prefix}_${i}`,
                },
              );
              const row = await lifecycle.subscriptionRow(outcome.subscriptionId!);
              created.push({ customerId: row.customerId, subscriptionId: row.id, plan });
            } catch (err) {
              failure ??= err;
              return;
            }
            progress.update(created.length, opts.customers, plan);
          }
        };
        progress.update(0, opts.customers, '');
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, opts.customers) }, worker));
        if (failure !== undefined) throw failure;
      } finally {
        progress.stop();
        await billing.close();
      }
      if (opts.json) printJson({ customers: created.length, subscriptions: created.length, externalIdPrefix: prefix, created });
      else printLines(`Seeded ${created.length} customer${created.length === 1 ? '' : 's'} with a subscription each (externalIds ${prefix}_…).`);
      ctx.outcome = 0;
    });
}
