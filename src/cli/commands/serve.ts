import type { Command } from 'commander';
import type { CliContext } from '../index.js';
import { CliError, parsePort } from '../shared.js';

interface ServeOptions {
  port?: number;
}

/** `src/main.ts` is the composition root; loaded lazily so other commands never pay for it. */
const MAIN_MODULE = '../../main.js';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('Start the gateway (GraphQL over HTTP and WebSocket, webhooks, health and metrics).')
    .option('--port <n>', 'port to listen on (default: PORT or 4000)', parsePort)
    .action(async (opts: ServeOptions) => {
      if (opts.port !== undefined) process.env.PORT = String(opts.port);
      const main = (await import(MAIN_MODULE)) as { start?: () => Promise<unknown> };
      if (typeof main.start !== 'function') throw new CliError('serve: the gateway entry point (src/main.ts start()) is missing');
      // The gateway owns its lifecycle from here (signals, graceful shutdown).
      await main.start();
      ctx.outcome = 'running';
    });
}
