import type { Command } from 'commander';
import type { CliBilling } from '../gateway.js';
import { commandGroup, intOption, parseUrl, printJson, printLines, type CliContext } from '../common.js';
import { subscriptionJson, subscriptionLine } from './customers.js';

interface CreateOptions {
  customer: string;
  plan: string;
  quantity?: number;
  paymentMethod?: string;
  trialDays?: number;
  promotionCode?: string;
  idempotencyKey?: string;
  apiBase?: string;
  json?: boolean;
}

interface CancelOptions {
  now?: boolean;
  idempotencyKey?: string;
  apiBase?: string;
  json?: boolean;
}

const WHERE_HELP =
  '\nLike the GraphQL mutation called with an admin token: Stripe first (idempotency keys derived from\n' +
  '--idempotency-key when given), then the result is written to the mirror. Stripe and the database are the\n' +
  "gateway's (see `billing-gateway setup --help`); beside a gateway on PGlite (DATA_DIR) the command runs inside that gateway.";

/** Opens the gateway's database and Stripe for one write, and always lets go of them. */
async function withBilling<T>(apiBase: string | undefined, fn: (billing: CliBilling) => Promise<T>): Promise<T> {
  const [{ cliConfig }, { openBilling }] = await Promise.all([import('../config.js'), import('../gateway.js')]);
  const billing = await openBilling(cliConfig(), { apiBase });
  try {
    return await fn(billing);
  } finally {
    await billing.close();
  }
}

export function registerSubscriptions(program: Command, ctx: CliContext): void {
  const subscriptions = commandGroup(program, 'subscriptions', 'Create and cancel subscriptions (the subscribe and cancel mutations, as an admin).');

  subscriptions
    .command('create')
    .description('Subscribe a customer to a self-serve catalog plan.')
    .requiredOption(
      '--customer <id>',
      'cus_… of a customer, or your externalId (the token `sub`): an externalId without a customer yet creates it, as subscribe does for admins',
    )
    .requiredOption('--plan <id>', 'catalog plan id, e.g. pro_monthly')
    .option('--quantity <n>', 'seats (per-seat plans), default 1', intOption(1, 100_000))
    .option('--payment-method <pm>', 'card to attach and charge now, e.g. pm_card_visa in the sandbox')
    .option('--trial-days <n>', 'free trial length in days', intOption(1, 730))
    .option('--promotion-code <code>', 'a promotion code to apply')
    .option('--idempotency-key <key>', 'the same key and input again returns the same subscription and creates nothing twice')
    .option('--api-base <url>', 'Stripe API base, e.g. an emulator at http://127.0.0.1:12111 (default: STRIPE_API_BASE)', parseUrl)
    .option('--json', 'print { subscription, checkoutUrl, clientSecret } as JSON')
    .addHelpText(
      'after',
      `${WHERE_HELP}\nWithout --payment-method, a trial or a card on file, nothing is charged: the customer pays through the printed Checkout URL.`,
    )
    .action(async (opts: CreateOptions) => {
      const [{ CLI_VIEWER }] = await Promise.all([import('../gateway.js')]);
      const result = await withBilling(opts.apiBase, async (billing) => {
        const outcome = await billing.lifecycle.subscribe(
          { viewer: CLI_VIEWER },
          {
            plan: opts.plan,
            customerId: opts.customer,
            quantity: opts.quantity ?? null,
            paymentMethod: opts.paymentMethod ?? null,
            trialDays: opts.trialDays ?? null,
            promotionCode: opts.promotionCode ?? null,
            idempotencyKey: opts.idempotencyKey ?? null,
          },
        );
        const row = outcome.subscriptionId ? await billing.lifecycle.subscriptionRow(outcome.subscriptionId) : null;
        return { subscription: row ? await subscriptionJson(row) : null, checkoutUrl: outcome.checkoutUrl, clientSecret: outcome.clientSecret };
      });
      if (opts.json) printJson(result);
      else if (result.subscription) printLines(`Created ${subscriptionLine(result.subscription)} for ${result.subscription.customerId}`);
      else if (result.checkoutUrl) printLines(`No card on file: the customer completes the subscription at ${result.checkoutUrl}`);
      ctx.outcome = 0;
    });

  subscriptions
    .command('cancel')
    .description('Cancel a subscription at the end of its period, or now with --now.')
    .argument('<id>', 'subscription id (sub_…)')
    .option('--now', 'end it now: usage so far is invoiced and unused time credited to the customer balance')
    .option('--idempotency-key <key>', 'retry-safe key (same key, same input: the same result)')
    .option('--api-base <url>', 'Stripe API base, e.g. an emulator at http://127.0.0.1:12111 (default: STRIPE_API_BASE)', parseUrl)
    .option('--json', 'print the subscription as JSON')
    .addHelpText('after', WHERE_HELP)
    .action(async (id: string, opts: CancelOptions) => {
      const { CLI_VIEWER } = await import('../gateway.js');
      const subscription = await withBilling(opts.apiBase, async (billing) => {
        const outcome = await billing.lifecycle.cancel(
          { viewer: CLI_VIEWER },
          { subscriptionId: id, atPeriodEnd: !opts.now, idempotencyKey: opts.idempotencyKey ?? null },
        );
        return subscriptionJson(await billing.lifecycle.subscriptionRow(outcome.subscriptionId));
      });
      if (opts.json) printJson({ subscription });
      else if (subscription.status === 'canceled') printLines(`Canceled ${subscriptionLine(subscription)}`);
      else printLines(`Cancels at period end: ${subscriptionLine(subscription)}`);
      ctx.outcome = 0;
    });
}
