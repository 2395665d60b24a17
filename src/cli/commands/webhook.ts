import type { Command } from 'commander';
import { CliError, parsePort, parseUrl, printJson, waitForShutdownSignal, type CliContext } from '../common.js';

interface WebhookOptions {
  port?: number;
  apiBase?: string;
  json?: boolean;
}

export const DEFAULT_WEBHOOK_SIDECAR_PORT = 8000;

export function registerWebhook(program: Command, ctx: CliContext): void {
  program
    .command('webhook')
    .description('Run only POST /webhooks/stripe and its workers (plus /healthz, /readyz, /metrics), as a sidecar beside `serve` processes.')
    .option('--port <n>', `port to listen on (default ${DEFAULT_WEBHOOK_SIDECAR_PORT})`, parsePort)
    .option('--api-base <url>', 'Stripe API base, e.g. an emulator (default: STRIPE_API_BASE)', parseUrl)
    .option('--json', 'print { url, webhookUrl } as JSON once listening')
    .addHelpText(
      'after',
      '\nShares the database (DATABASE_URL; PostgreSQL when a `serve` process runs too) and the signal bus (REDIS_URL)\n' +
        'with the gateway. The signing secret is STRIPE_WEBHOOK_SECRET, or in sandbox the one the gateway registered.',
    )
    .action(async (opts: WebhookOptions) => {
      const [{ cliConfig }, { closeOrm }, { openCliDatabase }, { loadCatalog }, { resolveStripeTarget }, { checkStripe, storedWebhookSecret }, { createEventHooks, startWebhookSidecar }] =
        await Promise.all([
          import('../config.js'),
          import('../../db/orm.js'),
          import('../gateway.js'),
          import('../../catalog.js'),
          import('../stripe-target.js'),
          import('../../stripe/sandbox.js'),
          import('../../workers.js'),
        ]);
      const config = cliConfig();
      const { assertProductionStripe } = await import('../../config.js');
      assertProductionStripe(config);
      const orm = await openCliDatabase(config);
      const cleanup: (() => Promise<void>)[] = [() => closeOrm(orm)];
      const closeAll = async () => {
        for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
      };
      try {
        const secret = config.stripe.webhookSecret || (await storedWebhookSecret(orm.em.fork()));
        if (!secret) {
          throw new CliError('webhook: no signing secret; set STRIPE_WEBHOOK_SECRET (or start `serve` once in sandbox so it registers its endpoint)');
        }
        const target = await resolveStripeTarget(config, opts.apiBase);
        cleanup.push(() => target.close());
        const hooks = createEventHooks(config);
        cleanup.push(() => hooks.close());
        const catalog = loadCatalog(config.billingCatalog);
        const sidecar = await startWebhookSidecar({
          orm,
          stripe: target.stripe,
          webhookSecret: secret,
          catalog,
          // Background work shares the ledger with `serve` processes (SKIP LOCKED); USAGE_FLUSH_RATE_PER_SECOND=0 turns it off here.
          usageFlush: config.usageFlush,
          afterEvent: hooks.afterEvent,
          checkStripe: async () => {
            const r = await checkStripe(target.stripe);
            if (!r.ok) throw new Error(r.error);
          },
          port: opts.port ?? DEFAULT_WEBHOOK_SIDECAR_PORT,
          syncReadiness: config.syncReadiness,
          rereadBudget: config.stripeReread,
        });
        cleanup.push(() => sidecar.close());
        if (opts.json) printJson({ url: sidecar.url, webhookUrl: `${sidecar.url}/webhooks/stripe` });
        else process.stdout.write(`Webhook sidecar: POST ${sidecar.url}/webhooks/stripe\n`);
      } catch (err) {
        await closeAll();
        throw err;
      }
      await waitForShutdownSignal();
      // Graceful: stop accepting, finish the events in progress, close the bus and the database.
      await closeAll();
      ctx.outcome = 0;
    });
}
