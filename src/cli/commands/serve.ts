import type { Command } from 'commander';
import { CliError, parseServePort, waitForShutdownSignal, type CliContext } from '../common.js';

interface ServeOptions {
  port?: number;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('Start the gateway (GraphQL over HTTP and WebSocket, webhooks, health and metrics).')
    .option('--port <n>', 'port to listen on (default: PORT or 4000)', parseServePort)
    .action(async (opts: ServeOptions) => {
      // The composition root, loaded lazily so other commands never pay for it.
      const { start, startupFailureLine } = await import('../../gateway.js');
      const env = opts.port === undefined ? process.env : { ...process.env, PORT: String(opts.port) };
      const gateway = await start(env, { runCli: ctx.run }).catch((err: unknown) => {
        throw new CliError(startupFailureLine(err));
      });
      await waitForShutdownSignal();
      // Graceful: stop accepting, finish in-flight requests, close sockets, the emulator, the database.
      await gateway.stop();
      ctx.outcome = 0;
    });
}
