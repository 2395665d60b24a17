import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { createLogger, setLogger, stderrStream } from '../log.js';
import { errorLine } from '../errors.js';
import { CliError, describeServiceError, type CliContext, type CommandOutcome } from './common.js';
import { forwardToGateway, runningInGateway, writeErr, writeOut } from './in-gateway.js';
import { registerEmulator } from './commands/emulator.js';
import { registerMigrate } from './commands/migrate.js';
import { registerServe } from './commands/serve.js';
import { registerSetup } from './commands/setup.js';
import { registerToken } from './commands/token.js';
import { registerSync } from './commands/sync.js';
import { registerWebhook } from './commands/webhook.js';
import { registerCustomers } from './commands/customers.js';
import { registerSubscriptions } from './commands/subscriptions.js';
import { registerMetrics } from './commands/metrics.js';
import { registerClock } from './commands/clock.js';
import { registerSeed } from './commands/seed.js';
import { registerKeys } from './commands/keys.js';

/** Servers, whose logs are their output (stdout). */
const LONG_RUNNING = new Set(['serve', 'webhook', 'emulator']);

/** The `billing-gateway` program; one `register…` per command file under `commands/`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('billing-gateway')
    .description('GraphQL billing gateway in front of Stripe, with an offline Stripe emulator.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut, writeErr, outputError: (str, write) => write(`billing-gateway: ${str.replace(/^error: /, '')}`) });
  program.hook('preAction', (_program, action) => {
    // Inside a running gateway (in-gateway.ts) its own logging stays as it is.
    if (runningInGateway()) return;
    const oneShot = !LONG_RUNNING.has(action.name());
    // A one-shot command's answer is its output and its one-line error: it logs only when LOG_LEVEL is
    // set. Otherwise the configuration's level applies once it is read (cliConfig, or the gateway's start).
    const quiet = oneShot && !process.env.LOG_LEVEL?.trim();
    // One-shot commands, and any --json output, keep stdout for the result (it parses); log lines go to stderr.
    const toStderr = oneShot || action.opts().json === true;
    setLogger(createLogger({ level: quiet ? 'silent' : 'info', ...(toStderr ? { stream: stderrStream() } : {}) }));
  });
  registerServe(program, ctx);
  registerMigrate(program, ctx);
  registerSetup(program, ctx);
  registerEmulator(program, ctx);
  registerToken(program, ctx);
  registerSync(program, ctx);
  registerWebhook(program, ctx);
  registerCustomers(program, ctx);
  registerSubscriptions(program, ctx);
  registerMetrics(program, ctx);
  registerClock(program, ctx);
  registerSeed(program, ctx);
  registerKeys(program, ctx);
  return program;
}

/**
 * Runs one command line (`argv` without node and the script). Resolves to the exit code:
 * 0 ok, 1 failed, 2 bad usage. Long-running commands (serve, emulator) resolve after SIGINT/SIGTERM.
 */
export async function runCli(argv: string[]): Promise<CommandOutcome> {
  const ctx: CliContext = { outcome: 0, run: runCli };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.outcome;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; everything commander rejects (unknown option, missing argument,
      // no command at all) is bad usage. Commander already printed the message.
      return err.exitCode === 0 ? 0 : 2;
    }
    const service = describeServiceError(err);
    writeErr(`billing-gateway: ${service?.line ?? errorLine(err)}\n`);
    return service?.exitCode ?? (err instanceof CliError ? err.exitCode : 1);
  }
}

/** True when this module is the process entry (through bin/billing-gateway.js, or run directly). */
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    const real = realpathSync(script);
    return basename(real) === 'billing-gateway.js' || real === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntry()) {
  // A data command while a sandbox gateway holds the embedded database runs inside that gateway.
  const argv = process.argv.slice(2);
  forwardToGateway(argv)
    .then((forwarded) => forwarded ?? runCli(argv))
    .then(
      (outcome) => {
        // Exit now: keep-alive sockets of HTTP clients would otherwise hold the process.
        process.exit(outcome);
      },
      (err) => {
        process.stderr.write(`billing-gateway: ${errorLine(err)}\n`);
        process.exit(1);
      },
    );
}
