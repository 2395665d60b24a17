import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parsePort, parseUrl, printJson, waitForShutdownSignal, type CliContext } from '../common.js';

interface EmulatorCommandOptions {
  port?: number;
  host?: string;
  forwardTo?: string;
  webhookSecret?: string;
  dataDir?: string;
  memory?: boolean;
  json?: boolean;
}

function parseWebhookSecret(value: string): string {
  if (!/^whsec_\S+$/.test(value)) throw new InvalidArgumentError('expected a secret starting with whsec_.');
  return value;
}

export function registerEmulator(program: Command, ctx: CliContext): void {
  program
    .command('emulator')
    .description('Run the offline Stripe emulator (the official SDK talks to it with host/port/protocol).')
    .option('--port <n>', 'port to listen on, 0 for any free port (default: STRIPE_EMULATOR_PORT or 12111)', parsePort)
    .option('--host <address>', 'address to bind, e.g. 0.0.0.0 in a container', '127.0.0.1')
    .option('--forward-to <url>', 'deliver every event to this URL, signed, like `stripe listen --forward-to`', parseUrl)
    .option('--webhook-secret <whsec>', 'signing secret for --forward-to and new webhook endpoints', parseWebhookSecret)
    .option('--data-dir <dir>', 'where the state is kept across restarts (default: DATA_DIR/emulator)')
    .option('--memory', 'keep state in memory only')
    .option('--json', 'print the listening address as JSON')
    .action(async (opts: EmulatorCommandOptions) => {
      // STRIPE_EMULATOR_PORT and DATA_DIR as the gateway reads them (one parser: src/config.ts).
      const [{ cliConfig }, { startEmulator }] = await Promise.all([import('../config.js'), import('@billing-gateway/stripe-emulator')]);
      const config = cliConfig();
      const port = opts.port ?? config.stripe.emulatorPort;
      const dataDir = opts.memory ? undefined : resolve(opts.dataDir ?? resolve(config.dataDir, 'emulator'));
      const emulator = await startEmulator({
        port,
        host: opts.host,
        ...(dataDir ? { dataDir } : {}),
        ...(opts.webhookSecret ? { webhookSecret: opts.webhookSecret } : {}),
        ...(opts.forwardTo ? { forwardTo: opts.forwardTo } : {}),
      });
      if (opts.json) {
        printJson({
          url: emulator.url,
          port: emulator.port,
          dataDir: dataDir ?? null,
          forwardTo: opts.forwardTo ?? null,
          // Like `stripe listen`: a generated signing secret is shown, since the receiver needs it.
          ...(opts.forwardTo && !opts.webhookSecret ? { webhookSecret: emulator.forwardSecret } : {}),
        });
      } else {
        process.stdout.write(`Stripe emulator listening on ${emulator.url}\n`);
        process.stdout.write(`  SDK:   new Stripe('sk_test_…', { host: '${new URL(emulator.url).hostname}', port: ${emulator.port}, protocol: 'http' })\n`);
        process.stdout.write(`  state: ${dataDir ?? 'in memory'}\n`);
        if (opts.forwardTo) {
          process.stdout.write(`  forwarding events to ${opts.forwardTo}\n`);
          if (!opts.webhookSecret) process.stdout.write(`  webhook signing secret: ${emulator.forwardSecret}\n`);
        }
        process.stdout.write('Press Ctrl+C to stop.\n');
      }
      await waitForShutdownSignal();
      await emulator.close();
      ctx.outcome = 0;
    });
}
